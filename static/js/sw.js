// The portal's service worker, served at /sw.js so that its scope is the whole portal. It shows a
// notification when a sign-in waits for approval (Web Push, static/js/push.js subscribes) and opens
// the page that answers it. It caches nothing and handles no fetch: every page comes from the server.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const id = typeof data.id === "string" ? data.id : "";
  event.waitUntil(
    self.registration.showNotification(data.title || "", {
      body: data.body || "",
      tag: "approval-" + id, // a newer notification of the same request replaces it
      requireInteraction: true,
      data: { url: typeof data.url === "string" ? data.url : "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (url.origin !== self.location.origin) return; // only pages of this portal
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const w of windows) {
        if (w.url === url.href && "focus" in w) return w.focus();
      }
      return self.clients.openWindow(url.href);
    }),
  );
});
