// Resend countdown: a button with data-resend-in waits that many seconds, saying how long, then
// enables itself. Without JavaScript the button is always enabled and the server answers an early
// press with the time left.
export function startCountdowns(root) {
  for (const button of root.querySelectorAll("button[data-resend-in]")) {
    let left = parseInt(button.dataset.resendIn, 10);
    if (!(left > 0) || button.dataset.counting) continue;
    button.dataset.counting = "true";
    const wait = button.form && button.form.querySelector(".resend-wait");
    const label = (n) => (n === 1 ? button.dataset.waitOne : button.dataset.waitOther).replace("{n}", String(n));
    button.disabled = true;
    if (wait) wait.textContent = label(left);
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        if (wait) wait.textContent = "";
        return;
      }
      if (wait) wait.textContent = label(left);
    }, 1000);
  }
}
