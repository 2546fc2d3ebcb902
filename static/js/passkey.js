// Passkeys: make one, and sign in with one. A page includes this module with
// <script type="module" src="/static/js/passkey.js"> and marks its forms; it needs neither htmx
// nor app.js, and never evaluates code from the server.
//
// A form with data-passkey="register" or data-passkey="login" carries:
//   data-options-url  POSTed (the form's fields, urlencoded) for the ceremony's options; the
//                     reply is {"ceremony": "…", "publicKey": {…}} as internal/factor/passkey gives.
//   data-finish-url   POSTed JSON {"ceremony": "…", "credential": PublicKeyCredential JSON,
//                     "name": "…" (register only)}; the reply is {"redirect": "/path"} on success,
//                     or {"error": "message in the user's language"} (any status) on failure.
// Inside the form:
//   input[name="name"]  (register, optional) the passkey's name, sent as "name".
//   [role="status"]     where messages appear. It, or else the form, holds the translated texts
//                       data-msg-unsupported, data-msg-cancelled, data-msg-failed and, optional,
//                       data-msg-working (while the device asks) and data-msg-exists (this device
//                       already holds a passkey of the account).
// Only same-origin paths are followed. While a ceremony runs the form has aria-busy="true" and
// its submit button is disabled; the status element's data-state is "working" or "error".
//
// Conditional mediation: when the page has an input[autocomplete~="webauthn"] and a login form,
// and the browser offers passkeys in autofill, a sign-in waits in the background, using the first
// login form's URLs and status; pressing the login form's button takes over from it.

const b64 = {
  decode(s) {
    const std = String(s).replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  },
  encode(buf) {
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

// supportsPasskeys reports whether this browser can make and use passkeys at all.
export function supportsPasskeys() {
  return (
    window.isSecureContext !== false &&
    typeof window.PublicKeyCredential === "function" &&
    !!navigator.credentials &&
    typeof navigator.credentials.create === "function" &&
    typeof navigator.credentials.get === "function"
  );
}

function creationOptions(pk) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    try {
      return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
    } catch (_) {
      // Fall through to the manual conversion below.
    }
  }
  return {
    ...pk,
    challenge: b64.decode(pk.challenge),
    user: { ...pk.user, id: b64.decode(pk.user.id) },
    excludeCredentials: (pk.excludeCredentials || []).map((c) => ({ ...c, id: b64.decode(c.id) })),
  };
}

function requestOptions(pk) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    try {
      return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    } catch (_) {
      // Fall through to the manual conversion below.
    }
  }
  return {
    ...pk,
    challenge: b64.decode(pk.challenge),
    allowCredentials: (pk.allowCredentials || []).map((c) => ({ ...c, id: b64.decode(c.id) })),
  };
}

// credentialJSON is credential.toJSON(), or the same shape built by hand where it is missing.
function credentialJSON(cred) {
  if (typeof cred.toJSON === "function") {
    try {
      return cred.toJSON();
    } catch (_) {
      // Fall through to the manual encoding below.
    }
  }
  const r = cred.response;
  const response = { clientDataJSON: b64.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64.encode(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
    if (typeof r.getAuthenticatorData === "function") response.authenticatorData = b64.encode(r.getAuthenticatorData());
    const key = typeof r.getPublicKey === "function" ? r.getPublicKey() : null;
    if (key) response.publicKey = b64.encode(key);
    if (typeof r.getPublicKeyAlgorithm === "function") response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
  } else {
    response.authenticatorData = b64.encode(r.authenticatorData);
    response.signature = b64.encode(r.signature);
    if (r.userHandle) response.userHandle = b64.encode(r.userHandle);
  }
  const out = {
    id: cred.id,
    rawId: b64.encode(cred.rawId),
    type: cred.type,
    response,
    clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
  };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

// sameOriginPath returns p when it is a path on this site, else null: no open redirects.
function sameOriginPath(p) {
  if (typeof p !== "string" || !p.startsWith("/") || p.startsWith("//") || p.startsWith("/\\")) return null;
  let u;
  try {
    u = new URL(p, window.location.origin);
  } catch (_) {
    return null;
  }
  return u.origin === window.location.origin ? u.pathname + u.search + u.hash : null;
}

// ServerError carries a message the server wrote for the user.
class ServerError extends Error {}

async function post(url, body, contentType) {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": contentType },
    body,
  });
  const type = res.headers.get("Content-Type") || "";
  if (!type.includes("application/json")) {
    // The server answered with a page (a lapsed session sent to sign in again, say): go there.
    const to = res.redirected ? new URL(res.url) : null;
    if (to && to.origin === window.location.origin) {
      window.location.assign(to.pathname + to.search);
      return new Promise(() => {}); // the page is going away
    }
    throw new Error("reply is not JSON: " + res.status);
  }
  const reply = await res.json();
  const path = sameOriginPath(reply && reply.redirect);
  if (path) {
    window.location.assign(path);
    return new Promise(() => {}); // the page is going away
  }
  if (!res.ok || (reply && reply.error)) {
    throw new ServerError(reply && typeof reply.error === "string" ? reply.error : "");
  }
  return reply;
}

function fetchOptions(form) {
  return post(form.dataset.optionsUrl, new URLSearchParams(new FormData(form)), "application/x-www-form-urlencoded");
}

// finish sends the credential; a good reply leads to another page, so returning is a failure.
async function finish(form, ceremony, cred, extra) {
  const body = JSON.stringify({ ceremony, credential: credentialJSON(cred), ...extra });
  await post(form.dataset.finishUrl, body, "application/json");
  throw new Error("finish reply without a same-origin redirect");
}

function statusOf(form) {
  return form.querySelector('[role="status"]');
}

function message(form, key) {
  const status = statusOf(form);
  return (status && status.dataset[key]) || form.dataset[key] || "";
}

function show(form, text, state) {
  const status = statusOf(form);
  if (!status) return;
  status.textContent = text;
  if (state) status.dataset.state = state;
  else delete status.dataset.state;
}

function busy(form, on) {
  const button = form.querySelector('button[type="submit"], button:not([type]), input[type="submit"]');
  if (button) button.disabled = on;
  if (on) form.setAttribute("aria-busy", "true");
  else form.removeAttribute("aria-busy");
}

// explain shows what went wrong in the user's language.
function explain(form, err) {
  const name = err && err.name;
  if (err instanceof ServerError && err.message) return show(form, err.message, "error");
  if (name === "NotAllowedError" || name === "AbortError") return show(form, message(form, "msgCancelled"), "error");
  if (name === "InvalidStateError" && message(form, "msgExists")) return show(form, message(form, "msgExists"), "error");
  if (name === "NotSupportedError") return show(form, message(form, "msgUnsupported"), "error");
  show(form, message(form, "msgFailed"), "error");
}

// register makes a passkey with the form's options and finish URLs.
export async function register(form) {
  if (!supportsPasskeys()) return show(form, message(form, "msgUnsupported"), "error");
  busy(form, true);
  show(form, message(form, "msgWorking"), "working");
  await stopConditional(); // a browser runs one WebAuthn request at a time
  try {
    const opts = await fetchOptions(form);
    const cred = await navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
    if (!cred) throw new DOMException("no credential", "NotAllowedError");
    const nameInput = form.querySelector('input[name="name"]');
    await finish(form, opts.ceremony, cred, { name: nameInput ? nameInput.value : "" });
  } catch (err) {
    explain(form, err);
  } finally {
    busy(form, false);
  }
  startConditionalLogin(document);
}

// The background sign-in offered in autofill, while one runs.
let conditional = null;

function stopConditional() {
  const c = conditional;
  conditional = null;
  if (!c) return Promise.resolve();
  c.controller.abort();
  return c.done;
}

// login signs in with a passkey the person picks (modal), taking over from a background one.
export async function login(form) {
  if (!supportsPasskeys()) return show(form, message(form, "msgUnsupported"), "error");
  busy(form, true);
  show(form, message(form, "msgWorking"), "working");
  await stopConditional();
  try {
    const opts = await fetchOptions(form);
    const cred = await navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
    if (!cred) throw new DOMException("no credential", "NotAllowedError");
    await finish(form, opts.ceremony, cred);
  } catch (err) {
    explain(form, err);
  } finally {
    busy(form, false);
  }
  startConditionalLogin(document);
}

// startConditionalLogin offers the site's passkeys in the autofill of an
// input[autocomplete~="webauthn"], where the browser supports it; it renews the request before
// its ceremony expires.
export function startConditionalLogin(root = document) {
  const form = root.querySelector('form[data-passkey="login"]');
  if (!form || conditional || !root.querySelector('input[autocomplete~="webauthn"]')) return Promise.resolve();
  if (!supportsPasskeys() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return Promise.resolve();
  const controller = new AbortController();
  const c = { controller, done: null };
  conditional = c;
  c.done = (async () => {
    let renew = null;
    try {
      if (!(await PublicKeyCredential.isConditionalMediationAvailable()) || controller.signal.aborted) return;
      const opts = await fetchOptions(form);
      if (controller.signal.aborted) return;
      const life = Number(opts.publicKey && opts.publicKey.timeout) || 300000;
      renew = setTimeout(() => {
        if (conditional === c) stopConditional().then(() => startConditionalLogin(root));
      }, Math.max(30000, life - 15000));
      const cred = await navigator.credentials.get({
        mediation: "conditional",
        publicKey: requestOptions(opts.publicKey),
        signal: controller.signal,
      });
      clearTimeout(renew);
      if (!cred || controller.signal.aborted) return;
      if (conditional === c) conditional = null;
      busy(form, true);
      show(form, message(form, "msgWorking"), "working");
      try {
        await finish(form, opts.ceremony, cred);
      } catch (err) {
        explain(form, err);
        startConditionalLogin(root); // waits for the person to pick again
      } finally {
        busy(form, false);
      }
    } catch (err) {
      // Aborted by us, or refused quietly by the browser: the button still works.
      const quiet = controller.signal.aborted || (err && (err.name === "NotAllowedError" || err.name === "AbortError"));
      if (!quiet) explain(form, err);
    } finally {
      clearTimeout(renew);
      if (conditional === c) conditional = null;
    }
  })();
  return c.done;
}

// enhancePasskeyForms wires every passkey form under root; calling it again does no harm.
export function enhancePasskeyForms(root = document) {
  for (const form of root.querySelectorAll('form[data-passkey="register"], form[data-passkey="login"]')) {
    if (form.dataset.passkeyReady) continue;
    form.dataset.passkeyReady = "true";
    if (!supportsPasskeys()) show(form, message(form, "msgUnsupported"), "error");
    const run = form.dataset.passkey === "register" ? register : login;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") === "true") return;
      run(form);
    });
  }
  startConditionalLogin(root);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhancePasskeyForms(document));
} else {
  enhancePasskeyForms(document);
}
