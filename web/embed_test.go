package web_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/partner"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// The partner of the tests: a site on https://partner.example that signs launches with HS256 and
// is trusted to have verified its users.
const (
	testPartnerID     = "partner-test"
	testPartnerOrigin = "https://partner.example"
	testPartnerSecret = "the-test-partner-secret-of-32-characters-or-more"
)

// testPartner is the test partner, with extra origins where its page is served in a test.
func testPartner(verifies bool, origins ...string) config.Partner {
	return config.Partner{ID: testPartnerID, Name: "示例合作方", Origins: append([]string{testPartnerOrigin}, origins...),
		HMACSecret: []byte(testPartnerSecret), VerifiesIdentity: verifies, Color: "#17A673"}
}

// withPartner configures the test partner.
func withPartner(verifies bool, origins ...string) webtest.ServerOption {
	return webtest.WithConfig(func(c *config.Config) { c.Partners = append(c.Partners, testPartner(verifies, origins...)) })
}

// launchToken signs a launch of userID by the test partner, valid for ttl from the server's now.
func launchToken(t testing.TB, s *webtest.Server, userID string, ttl time.Duration) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(testPartnerSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	now := s.Clock.Now()
	tok, err := jwt.Signed(signer).Claims(partner.Claims{Claims: jwt.Claims{Issuer: testPartnerID, Subject: userID,
		Audience: jwt.Audience{s.Config.BaseURL}, IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
		ID: hex.EncodeToString(nonce)}}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func launchPath(token string) string {
	return "/embed/launch?partner=" + testPartnerID + "&token=" + url.QueryEscape(token)
}

// framedClient is a browser inside the partner's frame: its cookie jar keeps the embedded cookie,
// which is Secure, as a browser does for http://127.0.0.1 and http://localhost (secure contexts).
func framedClient(s *webtest.Server) *http.Client {
	c := s.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = secureJar{jar}
	return c
}

// secureJar treats loopback http as https, as browsers do.
type secureJar struct{ http.CookieJar }

func (j secureJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.CookieJar.SetCookies(asHTTPS(u), cookies)
}

func (j secureJar) Cookies(u *url.URL) []*http.Cookie { return j.CookieJar.Cookies(asHTTPS(u)) }

func asHTTPS(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "https"
	return &v
}

// A valid launch opens the user's notice in the embedded layout: the embedded cookie with
// SameSite=None, Secure, Partitioned and HttpOnly; frame-ancestors naming exactly the partner's
// origins and no X-Frame-Options or Cross-Origin-Opener-Policy; passkeys allowed in the frame.
// Every other page still refuses any frame. A trusted partner's launch verified the user: the
// notice leads straight to the confirmation.
func TestEmbedLaunch_OpensTheNoticeInsideThePartnersFrame(t *testing.T) {
	s := webtest.NewServer(t, withPartner(true))
	c := framedClient(s)
	r := s.Get(t, c, launchPath(launchToken(t, s, "demo-zh", 2*time.Minute)), nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/embed/"+testPartnerID+"/notice" {
		t.Fatalf("launch: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), mainText(r.Doc))
	}
	var embedCookie *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == "smsretire_embed" {
			embedCookie = ck
		}
	}
	raw := strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if embedCookie == nil || embedCookie.SameSite != http.SameSiteNoneMode || !embedCookie.Secure || !embedCookie.Partitioned ||
		!embedCookie.HttpOnly || embedCookie.Path != "/embed" {
		t.Fatalf("embedded cookie: %s", raw)
	}
	if strings.Contains(raw, "smsretire=") {
		t.Errorf("the launch set the portal's own cookie: %s", raw)
	}
	assertEmbedHeaders(t, "launch", r, testPartnerOrigin)

	n := s.Get(t, c, "/embed/"+testPartnerID+"/notice", nil)
	if n.StatusCode != http.StatusOK {
		t.Fatalf("notice: %d\n%s", n.StatusCode, mainText(n.Doc))
	}
	assertEmbedHeaders(t, "notice", n, testPartnerOrigin)
	if n.Doc.Find("header.site-header, footer.site-footer").Length() != 0 || n.Doc.Find("body.embedded").Length() != 1 {
		t.Error("the embedded notice has the site's header or footer")
	}
	if got, _ := n.Doc.Find("body").Attr("data-embed-origin"); got != testPartnerOrigin {
		t.Errorf("data-embed-origin %q", got)
	}
	if got, _ := n.Doc.Find(".cta a.button").Attr("href"); got != "/embed/"+testPartnerID+"/verify/done" {
		t.Errorf("a trusted launch's notice starts at %q, want the confirmation", got)
	}
	if n.Doc.Find(`link[href="/embed/`+testPartnerID+`/brand.css"]`).Length() != 1 {
		t.Error("no partner stylesheet")
	}
	brand := s.Get(t, c, "/embed/"+testPartnerID+"/brand.css", nil)
	if brand.StatusCode != http.StatusOK || !strings.Contains(string(brand.Body), "--brand: #") {
		t.Errorf("brand.css: %d %q", brand.StatusCode, brand.Body)
	}

	// The journey's pages inside the frame, and the portal's own pages outside it.
	v := s.Get(t, c, "/embed/"+testPartnerID+"/verify/done", nil)
	if v.StatusCode != http.StatusOK {
		t.Fatalf("verify/done: %d\n%s", v.StatusCode, mainText(v.Doc))
	}
	assertEmbedHeaders(t, "verify/done", v, testPartnerOrigin)
	if got, _ := v.Doc.Find(".cta a.button, a.button").First().Attr("href"); !strings.HasPrefix(got, "/embed/"+testPartnerID+"/") {
		t.Errorf("the embedded confirmation leads out of the frame: %q", got)
	}
	for _, path := range []string{"/", "/verify", "/enroll", "/faq"} {
		r := s.Get(t, c, path, nil)
		if csp := r.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", path, csp, r.Header.Get("X-Frame-Options"))
		}
	}
}

// Inside the frame, a verification that ran out asks for a new launch, inside the frame, and
// never sends the frame to the sign-in page, which no partner may frame.
func TestEmbed_VerificationRunOutStaysInTheFrame(t *testing.T) {
	s := webtest.NewServer(t, withPartner(true))
	c := framedClient(s)
	if r := s.Get(t, c, launchPath(launchToken(t, s, "demo-zh", 2*time.Minute)), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("launch: %d", r.StatusCode)
	}
	s.Clock.Advance(s.Config.ElevatedWindow + time.Minute)
	r := s.Get(t, c, "/embed/"+testPartnerID+"/enroll/totp", nil)
	if r.StatusCode != http.StatusForbidden || r.Doc.Find("body.embedded h1").Length() != 1 {
		t.Fatalf("a run-out verification in the frame: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), mainText(r.Doc))
	}
	assertEmbedHeaders(t, "run out", r, testPartnerOrigin)
}

// A user who retired SMS already and comes from the partner again sees the retired notice, and
// the partner's page hears the journey is complete.
func TestEmbedNotice_RetiredUserIsComplete(t *testing.T) {
	s := webtest.NewServer(t, withPartner(true))
	c := framedClient(s)
	ep := "/embed/" + testPartnerID
	s.Get(t, c, launchPath(launchToken(t, s, "demo-zh", 2*time.Minute)), nil)
	if got, ok := s.Get(t, c, ep+"/notice", nil).Doc.Find("body").Attr("data-embed-completed"); ok {
		t.Errorf("a user who has not retired SMS is complete: %q", got)
	}
	app := s.Get(t, c, ep+"/enroll/totp", nil)
	code, err := totp.CodeAt(secretFrom(t, app), s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := s.PostForm(t, c, ep+"/enroll/totp", url.Values{"code": {code}}, nil); r.Header.Get("Location") != ep+"/enroll/recovery" {
		t.Fatalf("enroll: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	again := framedClient(s)
	s.Get(t, again, launchPath(launchToken(t, s, "demo-zh", 2*time.Minute)), nil)
	n := s.Get(t, again, ep+"/notice", nil)
	if got, _ := n.Doc.Find("body").Attr("data-embed-completed"); got != "totp" {
		t.Errorf("the retired user's embedded notice: data-embed-completed %q, want totp\n%s", got, mainText(n.Doc))
	}
}

// assertEmbedHeaders checks the frame rules of an embedded answer.
func assertEmbedHeaders(t *testing.T, what string, r *webtest.Response, origins string) {
	t.Helper()
	h := r.Header
	if csp := h.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors "+origins) || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("%s: CSP %q", what, csp)
	}
	if xfo := h.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("%s: X-Frame-Options %q", what, xfo)
	}
	if coop := h.Get("Cross-Origin-Opener-Policy"); coop != "" {
		t.Errorf("%s: Cross-Origin-Opener-Policy %q", what, coop)
	}
	pp := h.Get("Permissions-Policy")
	for _, want := range []string{`publickey-credentials-create=(self "` + testPartnerOrigin + `")`, `publickey-credentials-get=(self "` + testPartnerOrigin + `")`, "camera=()"} {
		if !strings.Contains(pp, want) {
			t.Errorf("%s: Permissions-Policy %q lacks %s", what, pp, want)
		}
	}
}

// A launch token works once: a replay, an expired token, another partner's signature and an
// unknown partner open nothing; without a launch the embedded pages say to start again.
func TestEmbedLaunch_RefusesReplayedExpiredAndForgedTokens(t *testing.T) {
	s := webtest.NewServer(t, withPartner(false))
	token := launchToken(t, s, "demo-zh", 2*time.Minute)
	if r := s.Get(t, framedClient(s), launchPath(token), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("first launch: %d", r.StatusCode)
	}
	expired := launchToken(t, s, "demo-zh", time.Minute)
	s.Clock.Advance(2 * time.Minute)
	for name, path := range map[string]string{
		"replayed":      launchPath(token),
		"expired":       launchPath(expired),
		"forged":        launchPath(strings.TrimSuffix(token, token[len(token)-4:]) + "AAAA"),
		"no token":      "/embed/launch?partner=" + testPartnerID,
		"too long":      launchPath(launchToken(t, s, "demo-zh", 10*time.Minute)),
		"unknown user":  launchPath(launchToken(t, s, "nobody", time.Minute)),
		"other partner": "/embed/launch?partner=other&token=" + url.QueryEscape(token),
	} {
		c := framedClient(s)
		r := s.Get(t, c, path, nil)
		want := http.StatusForbidden
		if name == "other partner" {
			want = http.StatusNotFound
		}
		if r.StatusCode != want || s.Cookie(c, "smsretire_embed") != "" {
			t.Errorf("%s: %d, want %d without a cookie\n%s", name, r.StatusCode, want, mainText(r.Doc))
		}
		if want == http.StatusForbidden {
			assertEmbedHeaders(t, name, r, testPartnerOrigin)
			if r.Doc.Find("body.embedded h1").Length() != 1 {
				t.Errorf("%s: the refusal is not an embedded page", name)
			}
		} else if csp := r.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", name, csp)
		}
	}
	// Without an embedded session: start again from the partner's site.
	r := s.Get(t, framedClient(s), "/embed/"+testPartnerID+"/verify", nil)
	if r.StatusCode != http.StatusUnauthorized || r.Doc.Find("body.embedded").Length() != 1 {
		t.Errorf("no session: %d", r.StatusCode)
	}
	assertEmbedHeaders(t, "no session", r, testPartnerOrigin)
}

// Fifty browsers replay one launch token at once, spread over two instances on one PostgreSQL
// database: exactly one opens the journey, as the nonce is taken in one statement.
func TestEmbedLaunch_OneTokenOpensOnceOnTwoInstances(t *testing.T) {
	a, b := testsupport.PostgresPair(t)
	keys, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(webtest.Now)
	one := webtest.NewServer(t, webtest.WithStore(a), webtest.WithKeys(keys), webtest.WithClock(clk), withPartner(true),
		webtest.WithConfig(func(c *config.Config) { c.BaseURL = "http://127.0.0.1:8080" }))
	two := webtest.NewServer(t, webtest.WithStore(b), webtest.WithKeys(keys), webtest.WithClock(clk), withPartner(true), webtest.WithoutDemoUsers(),
		webtest.WithConfig(func(c *config.Config) { c.BaseURL = "http://127.0.0.1:8080" }))
	path := launchPath(launchToken(t, one, "demo-zh", 2*time.Minute))
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := []*webtest.Server{one, two}[i%2]
			statuses[i] = srv.Get(t, framedClient(srv), path, nil).StatusCode
		}()
	}
	wg.Wait()
	opened, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			opened++
		case http.StatusForbidden:
			refused++
		}
	}
	if opened != 1 || refused != 49 {
		t.Errorf("%d opened, %d refused (statuses %v); want 1 and 49", opened, refused, statuses)
	}
}
