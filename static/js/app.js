// Small progressive enhancements; every page works without this file.
import { enhanceButtons } from "./clipboard.js";
import { startCountdowns } from "./countdown.js";

// Move focus to an error summary so screen readers and keyboards land on it.
function focusErrorSummary(root) {
  const summary = root.querySelector("#error-summary");
  if (summary) summary.focus();
}

function enhance(root) {
  focusErrorSummary(root);
  startCountdowns(root);
  enhanceButtons(root);
}

document.addEventListener("DOMContentLoaded", () => enhance(document));
document.addEventListener("htmx:after:swap", () => {
  focusErrorSummary(document);
  startCountdowns(document);
});
