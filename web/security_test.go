package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// enrolledTOTP verifies a user, enrolls an authenticator app and returns its secret.
func enrolledTOTP(t *testing.T, srv *webtest.Server, userID string) string {
	t.Helper()
	c := verifiedClient(t, srv, userID)
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enroll: %d", r.StatusCode)
	}
	return secret
}

// signIn signs in with the next TOTP code in a new browser.
func signIn(t *testing.T, srv *webtest.Server, userID, secret string) *http.Client {
	t.Helper()
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	c := srv.Client()
	r := srv.PostForm(t, c, "/signin/totp", url.Values{"account": {userID}, "code": {code}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
	return c
}

func TestStepUp_SensitiveChangesNeedARecentAuthentication(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	c := signIn(t, srv, "demo-en", secret)
	fs, _ := srv.Store.Factors(context.Background(), "demo-en")
	rename := "/security/factors/" + itoa(fs[0].ID) + "/rename"

	// Fresh: allowed.
	if r := srv.PostForm(t, c, rename, url.Values{"name": {"Phone app"}}, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/security" {
		t.Fatalf("fresh rename: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// Stale: asked to authenticate again, and nothing changes.
	srv.Clock.Advance(11 * time.Minute)
	r := srv.PostForm(t, c, rename, url.Values{"name": {"Stale"}}, nil)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=%2Fsecurity") {
		t.Fatalf("stale rename: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if f, _ := srv.Store.Factor(context.Background(), "demo-en", fs[0].ID); f.Name != "Phone app" {
		t.Fatalf("stale rename changed the name to %q", f.Name)
	}
	for _, path := range []string{"/security/recovery/regenerate"} {
		if r := srv.PostForm(t, c, path, nil, nil); !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
			t.Errorf("%s stale: %d %s", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := srv.Get(t, c, "/enroll", nil); !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=%2Fenroll") {
		t.Errorf("/enroll stale: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// Step up: sign in again in the same browser and land back.
	srv.Get(t, c, r.Header.Get("Location"), nil)
	srv.Get(t, c, "/signin?next=%2Fenroll&stepup=1", nil)
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	back := srv.PostForm(t, c, "/signin/totp", url.Values{"account": {"demo-en"}, "code": {code}}, nil)
	if back.Header.Get("Location") != "/enroll" {
		t.Fatalf("after step-up → %s", back.Header.Get("Location"))
	}
	if r := srv.Get(t, c, "/enroll", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("/enroll after step-up: %d", r.StatusCode)
	}
	// Missing: not signed in at all.
	if r := srv.PostForm(t, srv.Client(), rename, url.Values{"name": {"x"}}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("signed out rename: %d", r.StatusCode)
	}
}

func TestSessions_EndedFromAnotherDeviceSignsItOut(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-zh")
	first := signIn(t, srv, "demo-zh", secret)
	second := signIn(t, srv, "demo-zh", secret)
	page := srv.Get(t, first, "/security", nil)
	if n := page.Doc.Find(".session-list li").Length(); n != 2 {
		t.Fatalf("sessions listed = %d, want 2", n)
	}
	other, ok := page.Doc.Find(`.session-list form input[name="id"]`).Attr("value")
	if !ok {
		t.Fatal("no way to end the other session")
	}
	if r := srv.PostForm(t, first, "/security/sessions/end", url.Values{"id": {other}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("end: %d", r.StatusCode)
	}
	if r := srv.Get(t, second, "/security", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ended session still works: %d", r.StatusCode)
	}
	if r := srv.Get(t, first, "/security", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("this session was ended too: %d", r.StatusCode)
	}
	// Sign-out ends the row, not just the cookie: the old cookie no longer works.
	jarCopy := srv.Cookie(first, "smsretire")
	srv.PostForm(t, first, "/signout", nil, nil)
	replay := srv.Client()
	u, _ := url.Parse(srv.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "smsretire", Value: jarCopy}})
	if r := srv.Get(t, replay, "/security", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("cookie after sign-out still works: %d", r.StatusCode)
	}
	// Idle for longer than the idle lifetime ends a session.
	third := signIn(t, srv, "demo-zh", secret)
	srv.Clock.Advance(31 * time.Minute)
	if r := srv.Get(t, third, "/security", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("idle session still works: %d", r.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Regression: the done page showed "认证器应用 认证器应用" and My security the kind twice when the
// name was the default; a default name shows as the kind, once, in the page's language, and the
// removal takes the name as shown. An email factor's address shows once.
func TestFactors_DefaultNamesShowTheKindOnce(t *testing.T) {
	srv := fastServer(t)
	c := verifiedClient(t, srv, "demo-zh")
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil)
	srv.PostForm(t, c, "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, nil)
	done := srv.Get(t, c, "/enroll/done", nil)
	if got := strings.Join(strings.Fields(done.Doc.Find(".factor-list li").First().Text()), " "); got != "身份验证器应用" {
		t.Errorf("the done page lists %q", got)
	}
	email := store.Factor{Kind: store.FactorEmail, Email: "zw@example.com", Name: "zw@example.com"}
	if _, err := srv.App.Enroll.Add(context.Background(), "demo-zh", email, audit.Client{IP: "192.0.2.1"}, nil); err != nil {
		t.Fatal(err)
	}
	signedIn := signIn(t, srv, "demo-zh", secret)
	for lang, want := range map[string][]string{
		i18n.Chinese: {"身份验证器应用", "邮箱验证码 zw@example.com"},
		i18n.English: {"Authenticator app", "Email code zw@example.com"},
	} {
		r := srv.Get(t, signedIn, "/security", cookieLang(lang))
		var cards []string
		r.Doc.Find(".factor-cards > li").Each(func(_ int, li *goquery.Selection) {
			title := strings.TrimSpace(li.Find("h3").Text())
			kind := strings.Join(strings.Fields(li.Find("p.muted").First().Text()), " ")
			if strings.HasPrefix(kind, "添加于") || strings.HasPrefix(kind, "Added") {
				kind = ""
			}
			cards = append(cards, strings.TrimSpace(title+" "+kind))
		})
		if strings.Join(cards, "|") != strings.Join(want, "|") {
			t.Errorf("%s: factors %q, want %q", lang, cards, want)
		}
	}
	fs, _ := srv.Store.Factors(context.Background(), "demo-zh")
	r := srv.PostForm(t, signedIn, "/security/factors/"+itoa(fs[0].ID)+"/remove", url.Values{"confirm": {"Authenticator app"}}, cookieLang(i18n.English))
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("removing the app by the name the English page showed: %d %s", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
}

// Devices are named in the page's language: "Linux 上的 Chrome", "Chrome on Linux".
func TestSessions_DeviceNamesInThePageLanguage(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-en")
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	c := srv.Client()
	ua := http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}}
	srv.PostForm(t, c, "/signin/totp", url.Values{"account": {"demo-en"}, "code": {code}}, ua)
	for lang, want := range map[string]string{i18n.Chinese: "Linux 上的 Chrome", i18n.English: "Chrome on Linux"} {
		h := cookieLang(lang)
		h.Set("User-Agent", ua.Get("User-Agent"))
		r := srv.Get(t, c, "/security", h)
		if got := strings.TrimSpace(r.Doc.Find(".session-list li strong").First().Text()); got != want {
			t.Errorf("%s: the device is %q, want %q", lang, got, want)
		}
		if got := r.Doc.Find("table.history .where").First().Text(); !strings.Contains(got, want) {
			t.Errorf("%s: the history names the device %q, want %q", lang, got, want)
		}
	}
}
