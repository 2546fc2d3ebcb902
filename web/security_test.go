package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/factor/totp"
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
