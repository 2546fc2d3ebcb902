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

document.addEventListener("DOMContentLoaded", () => {
  enhance(document);
  // Notifications of sign-ins waiting for approval, only on the page that offers them.
  if (document.querySelector("[data-push-key]")) import("./push.js").then((m) => m.enhancePush(document));
});
document.addEventListener("htmx:after:swap", () => {
  focusErrorSummary(document);
  startCountdowns(document);
});
