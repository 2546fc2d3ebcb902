// Copy and print buttons. A button with data-copy="SELECTOR" copies the text of the element the
// selector names and shows its data-copied text for a moment; a button with data-print prints
// the page. Both are marked hidden, since without JavaScript they would do nothing, and appear
// once wired; a copy button stays hidden where the browser has no clipboard.

const copiedFor = 2000; // milliseconds the button says its text was copied

// selectText selects the element's text, so the person can copy it themselves.
function selectText(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

function wireCopy(button) {
  const label = button.textContent;
  let timer = 0;
  button.addEventListener("click", () => {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(
      () => {
        button.textContent = button.dataset.copied || label;
        clearTimeout(timer);
        timer = setTimeout(() => {
          button.textContent = label;
        }, copiedFor);
      },
      () => selectText(source),
    );
  });
  button.hidden = false;
}

function wirePrint(button) {
  button.addEventListener("click", () => window.print());
  button.hidden = false;
}

// enhanceButtons wires the copy and print buttons under root; calling it again does no harm.
export function enhanceButtons(root) {
  const clipboard = !!(navigator.clipboard && navigator.clipboard.writeText);
  for (const button of root.querySelectorAll("button[data-copy], button[data-print]")) {
    if (button.dataset.wired) continue;
    if (button.hasAttribute("data-copy")) {
      if (!clipboard) continue;
      wireCopy(button);
    } else {
      wirePrint(button);
    }
    button.dataset.wired = "true";
  }
}
