// Inside a partner's frame (the embedded layout, views/embed.templ): tells the partner's page
// where the user is, with postMessage to the partner's origin only, never to "*": the origin the
// browser says frames the page (location.ancestorOrigins) when it is one of the partner's
// (body[data-embed-origins]), else the one the launch named (body[data-embed-origin]). The
// messages, each an object with a type:
//   {type: "smsretire:ready"}                      a page has loaded
//   {type: "smsretire:resize", height: 812}         the page's height in CSS pixels changed
//   {type: "smsretire:completed", factors: [...]}   the journey is done: the user's methods
//                                                   ("totp", "passkey", "email")
//   {type: "smsretire:closed"}                      the user chose to go back to the partner
// Links to pages that are not embedded (the FAQ, signing in) open in a new window, so the frame
// never shows a page that refuses to be framed.

const body = document.body;
const allowed = (body.dataset.embedOrigins || "").split(" ");
const parentOrigin = location.ancestorOrigins && location.ancestorOrigins.length > 0 ? location.ancestorOrigins[0] : "";
const origin = allowed.includes(parentOrigin) ? parentOrigin : body.dataset.embedOrigin;
const framed = window.parent !== window && !!origin;

function post(message) {
  if (framed) window.parent.postMessage(message, origin);
}

let lastHeight = 0;
function resize() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height !== lastHeight) {
    lastHeight = height;
    post({ type: "smsretire:resize", height });
  }
}

function embeddedPath(url) {
  return url.origin === location.origin && (url.pathname.startsWith("/embed/") || url.pathname.startsWith("/static/"));
}

function keepLinksInPlace(root) {
  for (const a of root.querySelectorAll("a[href]")) {
    const url = new URL(a.href, location.href);
    if ((url.protocol === "http:" || url.protocol === "https:") && !embeddedPath(url) && !a.hasAttribute("download")) {
      a.target = "_blank";
      a.rel = "noopener";
    }
  }
  for (const form of root.querySelectorAll("form[action]")) {
    if (!embeddedPath(new URL(form.action, location.href))) form.target = "_blank";
  }
}

keepLinksInPlace(document);
document.addEventListener("htmx:after:swap", () => keepLinksInPlace(document));

for (const button of document.querySelectorAll("[data-embed-close]")) {
  if (framed) button.hidden = false;
  button.addEventListener("click", () => post({ type: "smsretire:closed" }));
}

post({ type: "smsretire:ready" });
if (body.dataset.embedCompleted) {
  post({ type: "smsretire:completed", factors: body.dataset.embedCompleted.split(" ") });
}
resize();
if (typeof ResizeObserver === "function") {
  new ResizeObserver(resize).observe(document.documentElement);
} else {
  window.addEventListener("resize", resize);
}

// A browser that refuses passkeys in this frame: the way to make one in a window of its own,
// shown when the frame may not make passkeys or the ceremony failed. Once the link is used, the
// frame asks every two seconds whether the passkey is there, and moves on to the end.
const passkeyWindow = document.querySelector("[data-embed-window]");
if (passkeyWindow) {
  const show = () => {
    passkeyWindow.hidden = false;
  };
  const policy = document.permissionsPolicy || document.featurePolicy;
  if (policy && typeof policy.allowsFeature === "function" && !policy.allowsFeature("publickey-credentials-create")) show();
  const status = document.querySelector('form[data-passkey="register"] [role="status"]');
  if (status) {
    new MutationObserver(() => {
      if (status.dataset.state === "error") show();
    }).observe(status, { attributes: true, attributeFilter: ["data-state"] });
  }
  const link = passkeyWindow.querySelector("a[data-status-url]");
  link.addEventListener("click", () => {
    const ask = async () => {
      try {
        const r = await fetch(link.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (r.ok && (await r.json()).added) {
          location.assign(link.dataset.doneUrl);
          return;
        }
      } catch (_) {
        // Ask again.
      }
      setTimeout(ask, 2000);
    };
    setTimeout(ask, 2000);
  });
}
