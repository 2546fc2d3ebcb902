// Notifications of sign-ins waiting for approval, on My security: the buttons register the
// service worker (/sw.js), subscribe with the server's VAPID key, and hand the subscription to the
// server, or take it back. Without JavaScript, or without the Push API, the page says so; open
// pages of the portal show requests anyway.
function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function post(url, body) {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body || {}),
  });
  if (!r.ok) throw new Error("status " + r.status);
}

export function enhancePush(root) {
  for (const box of root.querySelectorAll("[data-push-key]")) {
    const status = box.querySelector(".push-status");
    const on = box.querySelector('[data-push-action="on"]');
    const off = box.querySelector('[data-push-action="off"]');
    const say = (msg) => {
      status.textContent = msg;
    };
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      on.hidden = off.hidden = true;
      say(box.dataset.msgUnsupported);
      continue;
    }
    on.addEventListener("click", async () => {
      try {
        const permission = await Notification.requestPermission();
        if (permission !== "granted") {
          say(box.dataset.msgDenied);
          return;
        }
        const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
        await navigator.serviceWorker.ready;
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.pushKey) });
        await post(box.dataset.pushSubscribe, sub.toJSON());
        on.hidden = true;
        off.hidden = false;
        say(box.dataset.msgOn);
      } catch {
        say(box.dataset.msgUnsupported);
      }
    });
    off.addEventListener("click", async () => {
      try {
        const reg = await navigator.serviceWorker.getRegistration("/");
        const sub = reg && (await reg.pushManager.getSubscription());
        if (sub) await sub.unsubscribe();
        await post(box.dataset.pushUnsubscribe);
        off.hidden = true;
        on.hidden = false;
        say(box.dataset.msgOff);
      } catch {
        say(box.dataset.msgUnsupported);
      }
    });
  }
}
