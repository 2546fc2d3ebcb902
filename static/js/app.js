// Small progressive enhancements; every page works without this file.

// Move focus to an error summary so screen readers and keyboards land on it.
function focusErrorSummary(root) {
  const summary = root.querySelector("#error-summary");
  if (summary) summary.focus();
}

document.addEventListener("DOMContentLoaded", () => focusErrorSummary(document));
document.addEventListener("htmx:after:swap", (e) => focusErrorSummary(document));
