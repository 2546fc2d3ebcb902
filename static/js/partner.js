// smsretire's optional script for partner sites: sizes the iframe that shows the portal and
// re-dispatches the portal's messages as DOM events on it. Load it as a classic script from the
// portal, naming the iframe's id (default "smsretire"):
//
//   <iframe id="smsretire" title="…" src="https://PORTAL/embed/launch?partner=ID&token=TOKEN"
//           allow="publickey-credentials-create; publickey-credentials-get"></iframe>
//   <script src="https://PORTAL/static/js/partner.js" data-frame="smsretire"></script>
//   <script src="/your.js"></script>  // frame.addEventListener("smsretire:completed", e => …)
//
// Only messages from the portal's origin and from that iframe count. The events bubble, so a
// listener on the document hears them too, whatever iframe the page puts there. Each event's detail is the
// message: {type, height} for smsretire:resize, {type, factors} for smsretire:completed, {type}
// for smsretire:ready and smsretire:closed. The script needs no inline code, so it works under a
// strict Content-Security-Policy (script-src naming the portal).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var portal = new URL(script.src).origin;
  var id = script.getAttribute("data-frame") || "smsretire";
  var types = { "smsretire:ready": 1, "smsretire:resize": 1, "smsretire:completed": 1, "smsretire:closed": 1 };

  window.addEventListener("message", function (e) {
    var frame = document.getElementById(id);
    if (!frame || e.origin !== portal || e.source !== frame.contentWindow) return;
    var m = e.data;
    if (!m || typeof m !== "object" || !types[m.type]) return;
    if (m.type === "smsretire:resize" && typeof m.height === "number" && isFinite(m.height) && m.height > 0) {
      frame.style.height = Math.min(Math.ceil(m.height), 10000) + "px";
    }
    frame.dispatchEvent(new CustomEvent(m.type, { detail: m, bubbles: true }));
  });
})();
