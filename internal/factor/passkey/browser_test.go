package passkey_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/passkey"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/static"
)

// The pages static/js/passkey.js runs on in these tests: the forms and attributes it documents,
// under the portal's strict CSP. The register form keeps its messages on the status element, the
// login form on the form itself; with autofill, the account field offers passkeys.
const registerPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>passkeys</title>
<script type="module" src="/static/js/passkey.js"></script></head>
<body><main>
<form id="reg" method="post" action="/nojs" data-passkey="register" data-options-url="/register/options" data-finish-url="/register/finish">
  <label for="pk-name">Name</label><input id="pk-name" name="name" value="Test phone">
  <button type="submit">Create passkey</button>
  <p role="status" data-msg-unsupported="UNSUPPORTED" data-msg-cancelled="CANCELLED" data-msg-failed="FAILED" data-msg-working="WORKING" data-msg-exists="EXISTS"></p>
</form>
</main></body></html>`

const loginPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>passkeys</title>
<script type="module" src="/static/js/passkey.js"></script></head>
<body><main>
<form id="login" method="post" action="/nojs" data-passkey="login" data-options-url="/login/options" data-finish-url="/login/finish"
  data-msg-unsupported="UNSUPPORTED" data-msg-cancelled="CANCELLED" data-msg-failed="FAILED">
  <label for="account">Account</label><input id="account" name="account" autocomplete="{{autocomplete}}">
  <button type="submit">Sign in with a passkey</button>
  <p role="status"></p>
</form>
</main></body></html>`

// browserSite serves testPage, passkey.js and four small JSON handlers over the passkey service,
// at http://localhost:PORT, the origin a loopback portal has.
type browserSite struct {
	*fixture
	url          string
	loginOptions atomic.Int32
	badRedirect  atomic.Bool // the login finish answers with a redirect to another site
}

func newBrowserSite(t *testing.T) *browserSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := &browserSite{url: "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")}
	st := testsupport.SQLite(t)
	site.fixture = newFixture(t, st)
	site.svc, err = passkey.New(st, site.clk, []byte(strings.Repeat("k", 32)), passkey.Settings{RPID: "localhost", RPName: "Test Portal", Origins: []string{site.url}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	page := func(html string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			autocomplete := "username"
			if r.URL.Query().Has("autofill") {
				autocomplete = "username webauthn"
			}
			io.WriteString(w, strings.ReplaceAll(html, "{{autocomplete}}", autocomplete))
		}
	}
	mux.HandleFunc("GET /register", page(registerPage))
	mux.HandleFunc("GET /login", page(loginPage))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static.FS())))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>done</title></head><body><p>done</p></body></html>`)
	})
	mux.HandleFunc("POST /register/options", func(w http.ResponseWriter, r *http.Request) {
		opts, _, err := site.svc.BeginRegistration(r.Context(), site.alice, site.alice.Name)
		reply(w, opts, err)
	})
	mux.HandleFunc("POST /register/finish", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		req, err := passkey.ParseFinish(body)
		if err == nil {
			var f store.Factor
			if f, err = site.svc.FinishRegistration(r.Context(), "alice", req.Ceremony, req.Credential, req.Name); err == nil {
				err = st.InTx(r.Context(), func(tx *store.Tx) error {
					_, err := tx.InsertFactor(r.Context(), f)
					return err
				})
			}
		}
		reply(w, []byte(`{"redirect":"/done?registered"}`), err)
	})
	mux.HandleFunc("POST /login/options", func(w http.ResponseWriter, r *http.Request) {
		site.loginOptions.Add(1)
		opts, _, err := site.svc.BeginLogin(r.Context())
		reply(w, opts, err)
	})
	mux.HandleFunc("POST /login/finish", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		req, err := passkey.ParseFinish(body)
		uid := ""
		if err == nil {
			var l passkey.Login
			l, err = site.svc.FinishLogin(r.Context(), req.Ceremony, req.Credential, audit.Client{IP: "127.0.0.1", UserAgent: r.UserAgent()})
			uid = l.UserID
		}
		to := `{"redirect":"/done?user=` + uid + `"}`
		if site.badRedirect.Load() {
			to = `{"redirect":"//evil.example/done"}`
		}
		reply(w, []byte(to), err)
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return site
}

// reply writes the JSON a web handler would: the body on success, else {"error": NAME} with 422.
func reply(w http.ResponseWriter, body []byte, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		name := "OTHER"
		for _, e := range []struct {
			err  error
			name string
		}{{passkey.ErrCeremonyExpired, "EXPIRED"}, {passkey.ErrUnknownCredential, "UNKNOWN"}, {passkey.ErrAlreadyRegistered, "ALREADY"}, {passkey.ErrVerification, "VERIFICATION"}, {passkey.ErrSignCountRegressed, "REGRESSED"}} {
			if errors.Is(err, e.err) {
				name = e.name
			}
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]string{"error": name})
		return
	}
	w.Write(body)
}

// authenticatorTab opens a tab with a virtual platform authenticator that holds discoverable
// credentials and verifies the user, as a phone's screen lock would.
func authenticatorTab(t *testing.T, browser context.Context, verified bool) (context.Context, cdpwebauthn.AuthenticatorID, *testsupport.ConsoleErrors) {
	t.Helper()
	tab := testsupport.Tab(t, browser)
	console := testsupport.WatchConsole(t, tab)
	if _, err := chromedp.Call(tab, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	res, err := chromedp.Call(tab, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
		Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: verified, AutomaticPresenceSimulation: true,
		DefaultBackupEligibility: true, DefaultBackupState: true,
	}})
	if err != nil {
		t.Fatalf("add virtual authenticator: %v", err)
	}
	return tab, res.AuthenticatorID, console
}

func open(t *testing.T, tab context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	ready := `(() => { const fs = [...document.querySelectorAll("form[data-passkey]")]; return fs.length > 0 && fs.every((f) => f.dataset.passkeyReady === "true"); })()`
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		var ok bool
		// Evaluating can fail while the page still changes; ask again.
		if ok, err = chromedp.Run(tab, chromedp.Evaluate[bool](ready)); err == nil && ok {
			return
		}
		if err := chromedp.Do(tab, chromedp.Sleep(20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("passkey.js did not take up the forms of %s (%v)", url, err)
}

// pressAndLand presses a button whose ceremony ends on another page, and returns that page's URL.
func pressAndLand(t *testing.T, tab context.Context, button string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, press(button))); err != nil {
		status, _ := chromedp.Run(tab, chromedp.Evaluate[string](`[...document.querySelectorAll("[role=status]")].map((s) => s.textContent).join(" | ")`))
		t.Fatalf("press %s: no new page (%v); the page says %q", button, err, status)
	}
	return evalJS[string](t, tab, `location.pathname + location.search`)
}

// landing waits until the tab is at path, ignoring the errors of evaluating while the page
// changes, and returns the path and query; it gives up after 20 seconds.
func landing(t *testing.T, tab context.Context, path string) string {
	t.Helper()
	var at string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname + location.search`))
		if err == nil {
			if at = v; strings.HasPrefix(v, path) {
				return v
			}
		}
		if err := chromedp.Do(tab, chromedp.Sleep(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	return at
}

// pressAndRead presses a button whose ceremony fails, and returns the message the form shows once
// it is usable again.
func pressAndRead(t *testing.T, tab context.Context, button, status string) string {
	t.Helper()
	if err := chromedp.Do(tab, press(button)); err != nil {
		t.Fatalf("press %s: %v", button, err)
	}
	js := `(() => { const s = document.querySelector(` + jsString(status) + `); const f = s.closest("form");
		return s.dataset.state === "error" && f.getAttribute("aria-busy") !== "true" && !f.querySelector("button").disabled && s.textContent; })()`
	msg, err := chromedp.Run(tab, chromedp.Poll[string](js, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("waiting for a message in %s: %v", status, err)
	}
	return msg
}

// press clicks a button as the person would: a click with user activation.
func press(button string) chromedp.Action[chromedp.Void] {
	gesture := true
	return chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(button)+`).click()`, func(p *runtime.EvaluateParams) { p.UserGesture = &gesture })
}

func evalJS[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func noErrors(t *testing.T, tab context.Context, console *testsupport.ConsoleErrors) {
	t.Helper()
	evalJS[string](t, tab, `location.href`) // a round trip, so every earlier event is in
	for _, e := range console.Take() {
		if e.Source == "network" && strings.Contains(e.Text, "status of 422") {
			continue // the refusals the tests provoke
		}
		t.Errorf("browser console: %s", e)
	}
}

func (s *browserSite) onlyPasskey(t *testing.T) store.Factor {
	t.Helper()
	fs, err := s.st.Factors(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("alice has %d factors, want 1", len(fs))
	}
	return fs[0]
}

// register makes alice a passkey on the tab's authenticator through the register page.
func (s *browserSite) register(t *testing.T, tab context.Context) {
	t.Helper()
	open(t, tab, s.url+"/register")
	if got := pressAndLand(t, tab, "#reg button"); got != "/done?registered" {
		t.Fatalf("after creating a passkey, at %q", got)
	}
}

// TestBrowser_PasskeyModule drives static/js/passkey.js in real headless Chromium against the
// service, with Chromium's virtual authenticator in place of a phone.
func TestBrowser_PasskeyModule(t *testing.T) {
	browser := testsupport.Browser(t)

	t.Run("RegistersThenSignsIn", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		f := site.onlyPasskey(t)
		if f.Kind != store.FactorPasskey || f.Name != "Test phone" || len(f.CredentialID) == 0 || len(f.PublicKey) == 0 ||
			!strings.Contains(f.Transports, "internal") || !f.BackupEligible || !f.BackupState {
			t.Errorf("stored passkey %+v", f)
		}
		open(t, tab, site.url+"/login")
		site.clk.Advance(time.Minute)
		if got := pressAndLand(t, tab, "#login button"); got != "/done?user=alice" {
			t.Fatalf("after signing in, at %q", got)
		}
		after := site.factor(t, "alice", f.ID)
		if !after.LastUsedAt.Equal(site.clk.Now()) || after.SignCount <= f.SignCount || after.Flagged {
			t.Errorf("after sign-in: count %d (was %d), last used %v, flagged %v", after.SignCount, f.SignCount, after.LastUsedAt, after.Flagged)
		}
		noErrors(t, tab, console)
	})

	t.Run("ProviderNamedFromTheAuthenticatorsAAGUID", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		f := site.onlyPasskey(t)
		// Chromium's virtual authenticator reports 01020304-0506-0708-0102-030405060708; the
		// real data file does not know it, a test file that lists it does.
		if name, ok := passkey.DefaultProviders().Name(f.AAGUID); ok {
			t.Errorf("the built-in data file names the virtual authenticator %q", name)
		}
		test, err := passkey.LoadProviders(strings.NewReader(`{"providers": [{"aaguid": "01020304-0506-0708-0102-030405060708",
			"name": "Chromium virtual authenticator", "source": "https://chromium.googlesource.com/chromium/src/+/main/device/fido/virtual_ctap2_device.cc"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := test.Name(f.AAGUID); !ok || name != "Chromium virtual authenticator" {
			t.Errorf("stored AAGUID %x: name %q, %v", f.AAGUID, name, ok)
		}
		noErrors(t, tab, console)
	})

	t.Run("WorksWithoutTheJSONHelpers", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		// An older browser: no parse…FromJSON, no toJSON; the module's own encoding must do.
		strip := `delete PublicKeyCredential.parseCreationOptionsFromJSON; delete PublicKeyCredential.parseRequestOptionsFromJSON;
			delete PublicKeyCredential.prototype.toJSON;`
		if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: strip}); err != nil {
			t.Fatal(err)
		}
		site.register(t, tab)
		if got := evalJS[bool](t, tab, `"toJSON" in PublicKeyCredential.prototype || "parseRequestOptionsFromJSON" in PublicKeyCredential`); got {
			t.Fatal("the JSON helpers are still there")
		}
		f := site.onlyPasskey(t)
		if !strings.Contains(f.Transports, "internal") || !f.BackupEligible {
			t.Errorf("stored passkey %+v", f)
		}
		open(t, tab, site.url+"/login")
		if got := pressAndLand(t, tab, "#login button"); got != "/done?user=alice" {
			t.Fatalf("after signing in, at %q", got)
		}
		noErrors(t, tab, console)
	})

	t.Run("SignsInFromAutofill", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		if !evalJS[bool](t, tab, `typeof PublicKeyCredential.isConditionalMediationAvailable === "function"`) {
			t.Skip("this Chromium has no conditional mediation")
		}
		// The virtual authenticator answers a conditional request at once, as if the person had
		// picked the passkey in the account field's suggestions: no button is pressed.
		if err := chromedp.Do(tab, chromedp.Navigate(site.url+"/login?autofill")); err != nil {
			t.Fatal(err)
		}
		if got := landing(t, tab, "/done"); got != "/done?user=alice" {
			t.Fatalf("autofill sign-in: at %q", got)
		}
		noErrors(t, tab, console)
	})

	t.Run("ButtonWinsOverAWaitingAutofill", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		// No passkey yet: the conditional request waits, and the button must take over from it.
		open(t, tab, site.url+"/login?autofill")
		for end := time.Now().Add(10 * time.Second); site.loginOptions.Load() == 0 && time.Now().Before(end); {
			chromedp.Do(tab, chromedp.Sleep(20*time.Millisecond))
		}
		if site.loginOptions.Load() != 1 {
			t.Skipf("no conditional request started (%d option requests)", site.loginOptions.Load())
		}
		if got := pressAndRead(t, tab, "#login button", "#login [role=status]"); got != "CANCELLED" {
			t.Errorf("sign-in without a passkey: %q, want CANCELLED", got)
		}
		if n := site.loginOptions.Load(); n < 2 {
			t.Errorf("%d option requests: the button did not start its own ceremony", n)
		}
		if got := evalJS[string](t, tab, `location.pathname`); got != "/login" {
			t.Errorf("left the page for %q", got)
		}
		noErrors(t, tab, console)
	})

	t.Run("SameDeviceTwiceSaysSo", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		open(t, tab, site.url+"/register")
		if got := pressAndRead(t, tab, "#reg button", "#reg [role=status]"); got != "EXISTS" {
			t.Errorf("second passkey on one device: %q, want EXISTS", got)
		}
		if got := evalJS[string](t, tab, `location.pathname`); got != "/register" {
			t.Errorf("left the page for %q", got)
		}
		site.onlyPasskey(t)
		noErrors(t, tab, console)
	})

	t.Run("RefusedVerificationReadsAsCancelled", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, false)
		open(t, tab, site.url+"/register")
		if got := pressAndRead(t, tab, "#reg button", "#reg [role=status]"); got != "CANCELLED" {
			t.Errorf("registration refused on the device: %q, want CANCELLED", got)
		}
		if fs, _ := site.st.Factors(context.Background(), "alice"); len(fs) != 0 {
			t.Errorf("%d factors stored", len(fs))
		}
		noErrors(t, tab, console)
	})

	t.Run("NoWebAuthnSaysSoAndStaysUsable", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		if _, err := chromedp.Call(tab, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.PublicKeyCredential;`}); err != nil {
			t.Fatal(err)
		}
		open(t, tab, site.url+"/register")
		if got := evalJS[string](t, tab, `document.querySelector("#reg [role=status]").textContent`); got != "UNSUPPORTED" {
			t.Errorf("register page on load: %q, want UNSUPPORTED", got)
		}
		open(t, tab, site.url+"/login?autofill")
		if got := evalJS[string](t, tab, `document.querySelector("#login [role=status]").textContent`); got != "UNSUPPORTED" {
			t.Errorf("login page on load: %q, want UNSUPPORTED", got)
		}
		if got := pressAndRead(t, tab, "#login button", "#login [role=status]"); got != "UNSUPPORTED" {
			t.Errorf("pressing sign-in: %q, want UNSUPPORTED", got)
		}
		if got := evalJS[string](t, tab, `location.pathname`); got != "/login" || site.loginOptions.Load() != 0 {
			t.Errorf("at %q after %d option requests; want to stay without asking", got, site.loginOptions.Load())
		}
		noErrors(t, tab, console)
	})

	t.Run("CountGoingBackShowsTheServersMessage", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		// The server has seen a higher count than this authenticator will send: it is a copy.
		f := site.onlyPasskey(t)
		if ok, err := site.st.UsePasskey(context.Background(), f.ID, f.SignCount, 1000, f.BackupState, site.clk.Now()); err != nil || !ok {
			t.Fatalf("raise the stored count: %v, %v", ok, err)
		}
		open(t, tab, site.url+"/login")
		if got := pressAndRead(t, tab, "#login button", "#login [role=status]"); got != "REGRESSED" {
			t.Errorf("sign-in with the copy: %q, want the server's REGRESSED", got)
		}
		if f := site.onlyPasskey(t); !f.Flagged {
			t.Error("the passkey is not flagged")
		}
		noErrors(t, tab, console)
	})

	t.Run("RedirectToAnotherSiteIsNotFollowed", func(t *testing.T) {
		site := newBrowserSite(t)
		tab, _, console := authenticatorTab(t, browser, true)
		site.register(t, tab)
		site.badRedirect.Store(true)
		open(t, tab, site.url+"/login")
		if got := pressAndRead(t, tab, "#login button", "#login [role=status]"); got != "FAILED" {
			t.Errorf("finish reply leading elsewhere: %q, want FAILED", got)
		}
		if got := evalJS[string](t, tab, `location.host + location.pathname`); got != strings.TrimPrefix(site.url, "http://")+"/login" {
			t.Errorf("followed to %q", got)
		}
		noErrors(t, tab, console)
	})
}
