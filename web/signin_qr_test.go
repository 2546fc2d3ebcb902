package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// qrIDOf returns the code's id from the computer's page: the image's content is BASE_URL/qr/{id},
// which the binding cookie also carries.
func qrIDOf(t *testing.T, srv *webtest.Server, computer *http.Client) string {
	t.Helper()
	v := srv.Cookie(computer, "smsretire_qr")
	_, id, ok := strings.Cut(v, ".")
	if !ok {
		t.Fatalf("the computer holds no binding cookie (%q)", v)
	}
	return id
}

// tokenOf returns the approval forms' token on the phone's page.
func tokenOf(r *webtest.Response) string {
	v, _ := r.Doc.Find(`form[action$="/approve"] input[name="token"]`).Attr("value")
	return v
}

func TestQRSignIn_OverHTTP(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	phone := signIn(t, srv, "demo-en", secret)

	computer := srv.Client()
	if r := srv.Get(t, computer, "/signin", nil); r.Doc.Find(`form[action="/signin/qr"]`).Length() != 1 {
		t.Fatal("the sign-in page offers no QR code")
	}
	if r := srv.PostForm(t, computer, "/signin/qr", nil, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin/qr" {
		t.Fatalf("start: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	page := srv.Get(t, computer, "/signin/qr", nil)
	if src, _ := page.Doc.Find(".qr-code img").Attr("src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("no QR image on the computer's page: %q", src)
	}
	id := qrIDOf(t, srv, computer)
	seen, _ := page.Doc.Find("#qr-status").Attr("data-hx-get")
	htmx := http.Header{"HX-Request": {"true"}}
	if r := srv.Get(t, computer, seen, htmx); r.StatusCode != http.StatusNoContent {
		t.Fatalf("watch with nothing new: %d, want 204", r.StatusCode)
	}

	// The phone's GET changes nothing, however often.
	for range 2 {
		r := srv.Get(t, phone, "/qr/"+id, nil)
		if r.StatusCode != http.StatusOK || r.Doc.Find(`form[action="/qr/`+id+`/claim"]`).Length() != 1 {
			t.Fatalf("phone's look: %d", r.StatusCode)
		}
	}
	if r := srv.Get(t, computer, seen, htmx); r.StatusCode != http.StatusNoContent {
		t.Fatalf("watch after the phone looked: %d, want 204", r.StatusCode)
	}
	if r := srv.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("claim: %d", r.StatusCode)
	}
	// The computer hides the code once claimed; the status carries no token.
	st := srv.Get(t, computer, seen, htmx)
	if st.StatusCode != http.StatusOK || st.Doc.Find("img").Length() != 0 || strings.Contains(string(st.Body), id) {
		t.Fatalf("watch after the claim: %d, image shown %d, id in body %v", st.StatusCode, st.Doc.Find("img").Length(), strings.Contains(string(st.Body), id))
	}
	// A stranger with the id but no binding cookie can do nothing; nor can another phone.
	stranger := srv.Client()
	if r := srv.PostForm(t, stranger, "/signin/qr/complete", nil, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("completion without the binding: %d", r.StatusCode)
	}
	look := srv.Get(t, phone, "/qr/"+id, nil)
	token := tokenOf(look)
	if token == "" {
		t.Fatal("the claiming phone got no approval form")
	}
	// No token: refused (CSRF), nothing changes.
	if r := srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("approval without the token: %d", r.StatusCode)
	}
	// Another origin: refused by cross-origin protection.
	if r := srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{"token": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site approval: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{"token": {token}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	// The computer completes once, with its cookie, and lands signed in.
	binding := srv.Cookie(computer, "smsretire_qr")
	done := srv.PostForm(t, computer, "/signin/qr/complete", nil, nil)
	if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/security" {
		t.Fatalf("complete: %d %s", done.StatusCode, done.Header.Get("Location"))
	}
	sec := srv.Get(t, computer, "/security", nil)
	if sec.StatusCode != http.StatusOK || !strings.Contains(sec.Doc.Find(".session-list").Text(), "Signed in with a QR code") {
		t.Fatalf("My security on the computer: %d; sessions: %q", sec.StatusCode, sec.Doc.Find(".session-list").Text())
	}
	// A replay of the completion (the cookie kept by an attacker) gets nothing.
	replay := srv.Client()
	u, _ := url.Parse(srv.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "smsretire_qr", Value: binding}})
	if r := srv.PostForm(t, replay, "/signin/qr/complete", nil, nil); r.StatusCode != http.StatusConflict || srv.Cookie(replay, "smsretire") != "" {
		t.Fatalf("a replayed completion: %d, want 409 and no session", r.StatusCode)
	}
	evs, _ := srv.Store.Events(context.Background(), "demo-en", 50)
	var qr int
	for _, e := range evs {
		if e.Type == audit.SignInQR {
			qr++
		}
	}
	if qr != 1 {
		t.Fatalf("%d signin.qr events, want 1", qr)
	}
}

func TestQRSignIn_PhoneMustBeSignedInRecently(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	phone := signIn(t, srv, "demo-en", secret)
	computer := srv.Client()
	srv.PostForm(t, computer, "/signin/qr", nil, nil)
	id := qrIDOf(t, srv, computer)
	signedOut := srv.Client()
	r := srv.Get(t, signedOut, "/qr/"+id, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin?next=%2Fqr%2F"+id {
		t.Fatalf("signed-out phone: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// Signed in there, the phone comes back to the code.
	srv.Get(t, signedOut, r.Header.Get("Location"), nil)
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, signedOut, "/signin/totp", url.Values{"account": {"demo-en"}, "code": {code}}, nil); r.Header.Get("Location") != "/qr/"+id {
		t.Fatalf("after signing in the phone goes to %q, want back to the code", r.Header.Get("Location"))
	}
	srv.Clock.Advance(16 * time.Minute)
	if r := srv.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=%2Fqr%2F") {
		t.Fatalf("stale phone: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := srv.Get(t, phone, "/qr/not-an-id", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("malformed id: %d", r.StatusCode)
	}
}

func TestQRSignIn_OffWhenTheOperatorSaysSo(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.QRSignIn = false }))
	if r := srv.Get(t, srv.Client(), "/signin", nil); r.Doc.Find(".signin-qr").Length() != 0 {
		t.Fatal("the sign-in page offers a QR code with --qr-signin=false")
	}
	if r := srv.PostForm(t, srv.Client(), "/signin/qr", nil, nil); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("start with --qr-signin=false: %d", r.StatusCode)
	}
}

// tourQR visits the pages of a QR code sign-in: the computer's code, claimed, refused, approved;
// the phone's pages and the refusals of each step. phone is signed in, recently.
func tourQR(t *testing.T, s *webtest.Server, newClient func() *http.Client, phone *http.Client,
	get func(string, *http.Client, string, int) *webtest.Response,
	post func(string, *http.Client, string, url.Values, http.Header, int) *webtest.Response,
	record func(string, *http.Client, *webtest.Response, int) *webtest.Response,
	step func(*http.Client, string, url.Values, string)) {
	t.Helper()
	hx := http.Header{"HX-Request": {"true"}, "HX-Request-Type": {"partial"}}
	computer := newClient()
	get("signin qr/none", computer, "/signin/qr", http.StatusOK)
	step(computer, "/signin/qr", nil, "/signin/qr")
	get("signin qr", computer, "/signin/qr", http.StatusOK)
	record("signin qr/status (htmx)", computer, s.Get(t, computer, "/signin/qr/status?seen=none", hx), http.StatusOK)
	id := qrIDOf(t, s, computer)
	get("qr/asking", phone, "/qr/"+id, http.StatusOK)
	step(phone, "/qr/"+id+"/claim", nil, "/qr/"+id)
	token := tokenOf(get("qr/claimed", phone, "/qr/"+id, http.StatusOK))
	get("signin qr/claimed", computer, "/signin/qr", http.StatusOK)
	post("qr/approve/no token", phone, "/qr/"+id+"/approve", url.Values{}, nil, http.StatusForbidden)
	post("signin qr/complete/not approved", computer, "/signin/qr/complete", nil, nil, http.StatusConflict)
	post("signin qr/complete/no binding cookie", newClient(), "/signin/qr/complete", nil, nil, http.StatusForbidden)
	step(phone, "/qr/"+id+"/deny", url.Values{"token": {token}, "not_me": {"1"}}, "/qr/"+id)
	get("qr/refused: this wasn't me", phone, "/qr/"+id, http.StatusOK)
	post("qr/deny/refused already", phone, "/qr/"+id+"/deny", url.Values{"token": {token}}, nil, http.StatusConflict)
	post("qr/claim/gone", phone, "/qr/"+id+"/claim", nil, nil, http.StatusConflict)
	get("signin qr/refused", computer, "/signin/qr", http.StatusOK)

	step(computer, "/signin/qr", nil, "/signin/qr")
	id = qrIDOf(t, s, computer)
	step(phone, "/qr/"+id+"/claim", nil, "/qr/"+id)
	token = tokenOf(s.Get(t, phone, "/qr/"+id, nil))
	step(phone, "/qr/"+id+"/approve", url.Values{"token": {token}}, "/qr/"+id)
	get("qr/approved", phone, "/qr/"+id, http.StatusOK)
	get("signin qr/approved", computer, "/signin/qr", http.StatusOK)
	step(computer, "/signin/qr/complete", nil, "")

	// Too many codes from one network in a minute.
	s.Clock.Advance(time.Minute)
	many := newClient()
	for range 10 {
		step(many, "/signin/qr", nil, "/signin/qr")
	}
	post("signin qr/too many codes", many, "/signin/qr", nil, nil, http.StatusTooManyRequests)
	step(many, "/signin/qr/cancel", nil, "/signin")
	s.Clock.Advance(time.Minute)
}

// A service's sign-in through the OpenID Connect provider may be done by scanning: the ID token's
// amr is ["mca"] (multiple-channel: the computer was let in by the signed-in phone) and its acr
// "otp", never phishing-resistant; a service that asks for a passkey gets no QR code offered.
func TestOIDC_QRSignInGivesAMRMCA(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(oidcClients))
	secret := enrolledTOTP(t, srv, "demo-zh")
	phone := signIn(t, srv, "demo-zh", secret)
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	l := newLogin()
	b := newBrowser(t, srv)
	signin := b.follow(r.authURL(l), srv.Config.BaseURL+"/signin")
	su, _ := url.Parse(signin)
	base := su.Scheme + "://" + su.Host // the portal as the service's users reach it (its base URL)
	if status, _, body := b.get(signin); status != http.StatusOK || !strings.Contains(body, `action="/signin/qr"`) {
		t.Fatalf("the sign-in page for the service: %d, QR offered %v", status, strings.Contains(body, `action="/signin/qr"`))
	}
	if status, _, _ := b.do(http.MethodPost, base+"/signin/qr", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("start: %d", status)
	}
	var id string
	for _, ck := range b.c.Jar.Cookies(su) {
		if ck.Name == "smsretire_qr" {
			_, id, _ = strings.Cut(ck.Value, ".")
		}
	}
	srv.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil)
	token := tokenOf(srv.Get(t, phone, "/qr/"+id, nil))
	if r := srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{"token": {token}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	status, back, body := b.do(http.MethodPost, base+"/signin/qr/complete", url.Values{})
	if status != http.StatusSeeOther {
		t.Fatalf("complete: %d %.300s", status, body)
	}
	code, state := codeFrom(t, b.follow(back, r.conf.RedirectURL))
	if state != l.state {
		t.Fatalf("state %q came back as %q", l.state, state)
	}
	_, c, err := r.exchange(t, code, l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sub != "demo-zh" || strings.Join(c.AMR, " ") != "mca" || c.ACR != "otp" {
		t.Errorf("claims %+v; want sub demo-zh, amr [mca], acr otp", c)
	}

	// A passkey demanded: no QR code.
	l = newLogin()
	b = newBrowser(t, srv)
	signin = b.follow(r.authURL(l, oauth2.SetAuthURLParam("acr_values", "phr")), srv.Config.BaseURL+"/signin")
	if _, _, body := b.get(signin); strings.Contains(body, `action="/signin/qr"`) {
		t.Error("QR code offered where the service asked for a phishing-resistant sign-in")
	}
}

// A computer signed in by QR code cannot make a sensitive change, nor approve another QR code,
// without a factor on that browser first.
func TestQRSignIn_SessionIsNoStepUp(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	phone := signIn(t, srv, "demo-en", secret)
	approve := func(computer *http.Client) string {
		srv.PostForm(t, computer, "/signin/qr", nil, nil)
		id := qrIDOf(t, srv, computer)
		srv.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil)
		srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{"token": {tokenOf(srv.Get(t, phone, "/qr/"+id, nil))}}, nil)
		if r := srv.PostForm(t, computer, "/signin/qr/complete", nil, nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("complete: %d", r.StatusCode)
		}
		return id
	}
	computer := srv.Client()
	approve(computer)
	if r := srv.PostForm(t, computer, "/security/recovery/regenerate", nil, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("a sensitive change from the QR session: %d %s, want a step-up", r.StatusCode, r.Header.Get("Location"))
	}
	if r := srv.Get(t, computer, "/signin?next=%2Fsecurity&stepup=1", nil); r.Doc.Find(".signin-qr").Length() != 0 {
		t.Fatal("the step-up offers a QR code")
	}
	// The QR session cannot approve a code of its own.
	other := srv.Client()
	srv.PostForm(t, other, "/signin/qr", nil, nil)
	id := qrIDOf(t, srv, other)
	if r := srv.Get(t, computer, "/qr/"+id, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=%2Fqr%2F") {
		t.Fatalf("the QR session opening a code: %d %s, want a sign-in with a factor", r.StatusCode, r.Header.Get("Location"))
	}
}

// Over HTTPS the binding cookie is __Host- prefixed, Secure, HttpOnly and SameSite=Strict.
func TestQRSignIn_BindingCookieOverHTTPS(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.BaseURL = "https://portal.example.cn" }))
	r := srv.PostForm(t, srv.Client(), "/signin/qr", nil, nil)
	var found *http.Cookie
	for _, ck := range r.Cookies() {
		if strings.Contains(ck.Name, "_qr") {
			found = ck
		}
	}
	if found == nil || found.Name != "__Host-smsretire_qr" || !found.Secure || !found.HttpOnly || found.SameSite != http.SameSiteStrictMode || found.Path != "/" || found.Domain != "" {
		t.Fatalf("binding cookie %+v, want __Host-smsretire_qr, Secure, HttpOnly, SameSite=Strict, Path=/ and no Domain", found)
	}
}

// QR code sign-in across two instances on one PostgreSQL, with every burst alternating between
// them, and on one SQLite server: sixty new codes at once from one network give ten; sixty
// approvals of one claim at once approve it once; sixty completions at once sign in once.
func TestQRSignIn_ParallelRequestsOnBothStores(t *testing.T) {
	run := func(t *testing.T, a, b *webtest.Server) {
		secret := enrolledTOTP(t, a, "demo-en")
		phone := signIn(t, a, "demo-en", secret)
		bases := []string{a.URL, b.URL}

		many := a.Client()
		statuses := postAtOnce(t, many, bases, "/signin/qr", url.Values{}, atOnce)
		if ok, refused := countStatus(statuses, http.StatusSeeOther), countStatus(statuses, http.StatusTooManyRequests); ok != 10 || refused != atOnce-10 {
			t.Fatalf("sixty new codes at once: %d shown, %d refused; want 10 and %d", ok, refused, atOnce-10)
		}
		a.Clock.Advance(time.Minute)

		computer := a.Client()
		b.PostForm(t, computer, "/signin/qr", nil, nil)
		id := qrIDOf(t, a, computer)
		if r := b.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("claim: %d", r.StatusCode)
		}
		token := tokenOf(a.Get(t, phone, "/qr/"+id, nil))
		statuses = postAtOnce(t, phone, bases, "/qr/"+id+"/approve", url.Values{"token": {token}}, atOnce)
		if ok := countStatus(statuses, http.StatusSeeOther); ok != 1 || countStatus(statuses, http.StatusConflict) != atOnce-1 {
			t.Fatalf("sixty approvals of one claim: %d approved, statuses %v", ok, statuses)
		}
		statuses = postAtOnce(t, computer, bases, "/signin/qr/complete", url.Values{}, atOnce)
		if ok := countStatus(statuses, http.StatusSeeOther); ok != 1 {
			t.Fatalf("sixty completions at once: %d signed in, want 1 (%v)", ok, statuses)
		}
		evs, _ := a.Store.Events(context.Background(), "demo-en", 100)
		n := 0
		for _, e := range evs {
			if e.Type == audit.SignInQR {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d signin.qr events, want 1", n)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		srv := fastServer(t)
		run(t, srv, srv)
	})
	t.Run("postgres, two instances", func(t *testing.T) {
		sa, sb := testsupport.PostgresPair(t)
		keys, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true)
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewFake(webtest.Now)
		a := webtest.NewServer(t, webtest.WithStore(sa), webtest.WithKeys(keys), webtest.WithClock(clk), webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
		b := webtest.NewServer(t, webtest.WithStore(sb), webtest.WithKeys(keys), webtest.WithClock(clk), webtest.WithoutDemoUsers(), webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
		run(t, a, b)
	})
}

// Where a service named the account (login_hint), the QR code is offered too, and only that
// account's approval completes the sign-in; another account's approval signs nobody in.
func TestOIDC_QRSignInForTheNamedAccountOnly(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(oidcClients))
	zhSecret := enrolledTOTP(t, srv, "demo-zh")
	enSecret := enrolledTOTP(t, srv, "demo-en")
	r := newRP(t, srv, shopID, shopSecret, shopCallback)
	l := newLogin()
	b := newBrowser(t, srv)
	signin := b.follow(r.authURL(l, oauth2.SetAuthURLParam("login_hint", "demo-zh")), srv.Config.BaseURL+"/signin")
	su, _ := url.Parse(signin)
	base := su.Scheme + "://" + su.Host
	if _, _, body := b.get(signin); !strings.Contains(body, `action="/signin/qr"`) {
		t.Fatal("no QR code offered where the service named the account")
	}
	approveAs := func(userID, secret string) {
		t.Helper()
		if status, _, _ := b.do(http.MethodPost, base+"/signin/qr", url.Values{}); status != http.StatusSeeOther {
			t.Fatalf("start: %d", status)
		}
		var id string
		for _, ck := range b.c.Jar.Cookies(su) {
			if ck.Name == "smsretire_qr" {
				_, id, _ = strings.Cut(ck.Value, ".")
			}
		}
		phone := signIn(t, srv, userID, secret)
		srv.PostForm(t, phone, "/qr/"+id+"/claim", nil, nil)
		token := tokenOf(srv.Get(t, phone, "/qr/"+id, nil))
		if r := srv.PostForm(t, phone, "/qr/"+id+"/approve", url.Values{"token": {token}}, nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve as %s: %d", userID, r.StatusCode)
		}
	}
	approveAs("demo-en", enSecret)
	if status, _, _ := b.do(http.MethodPost, base+"/signin/qr/complete", url.Values{}); status != http.StatusForbidden {
		t.Fatalf("another account's approval: %d, want 403", status)
	}
	evs, _ := srv.Store.Events(context.Background(), "demo-en", 100)
	for _, e := range evs {
		if e.Type == audit.SignInQR {
			t.Fatal("another account's approval signed a computer in")
		}
	}
	srv.Clock.Advance(time.Minute)
	approveAs("demo-zh", zhSecret)
	status, back, body := b.do(http.MethodPost, base+"/signin/qr/complete", url.Values{})
	if status != http.StatusSeeOther {
		t.Fatalf("complete: %d %.300s", status, body)
	}
	code, _ := codeFrom(t, b.follow(back, r.conf.RedirectURL))
	if _, c, err := r.exchange(t, code, l.verifier); err != nil || c.Sub != "demo-zh" || strings.Join(c.AMR, " ") != "mca" {
		t.Fatalf("claims %+v, %v; want sub demo-zh, amr [mca]", c, err)
	}
}
