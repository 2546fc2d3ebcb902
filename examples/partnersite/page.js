// The demo partner page lists the messages the portal's frame sends (partner.js dispatches them
// on the iframe as events, which bubble to the document).
const list = document.getElementById("messages");
for (const type of ["smsretire:ready", "smsretire:resize", "smsretire:completed", "smsretire:closed"]) {
  document.addEventListener(type, (e) => {
    if (type === "smsretire:resize" && list.lastElementChild && list.lastElementChild.dataset.type === type) {
      list.lastElementChild.textContent = JSON.stringify(e.detail);
      return;
    }
    const li = document.createElement("li");
    li.dataset.type = type;
    li.textContent = JSON.stringify(e.detail);
    list.append(li);
  });
}
