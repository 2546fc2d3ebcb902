package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/web/webtest"
)

// A Chinese account in a browser set to English: the notice spoke Chinese, and so does every
// page of enrollment, down to a refused form, a refused passkey, the recovery codes and their
// file. The language switch still wins.
func TestEnroll_SpeaksTheAccountsLanguage(t *testing.T) {
	srv := fastServer(t)
	c := verifiedClient(t, srv, "demo-zh")
	english := http.Header{"Accept-Language": {"en-US,en;q=0.9"}}

	// Refused forms while choosing the first factor; once it is added, another takes a sign-in.
	bad := srv.PostForm(t, c, "/enroll/email", url.Values{"email": {"not an address"}}, english)
	if got := bad.Doc.Find("html").AttrOr("lang", ""); bad.StatusCode != http.StatusUnprocessableEntity || got != "zh-Hans" {
		t.Errorf("refused address: %d in %q, want 422 in zh-Hans", bad.StatusCode, got)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/enroll/passkey/finish", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := webtest.ReadResponse(t, resp); !strings.Contains(string(r.Body), "无法创建通行密钥") {
		t.Errorf("passkey refused: %d %s, want the message in Chinese", r.StatusCode, r.Body)
	}

	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", english))
	code, err := totp.CodeAt(secret, srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, english); r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if got := srv.Get(t, c, "/enroll/recovery", english).Doc.Find("html").AttrOr("lang", ""); got != "zh-Hans" {
		t.Errorf("recovery codes page in %q, want zh-Hans", got)
	}
	if txt := srv.Get(t, c, "/enroll/recovery.txt", english); !strings.Contains(string(txt.Body), "smsretire 恢复码") {
		t.Errorf("recovery codes file:\n%s", txt.Body)
	}
	u, _ := url.Parse(srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en", Path: "/"}})
	if got := srv.Get(t, c, "/enroll/recovery", nil).Doc.Find("html").AttrOr("lang", ""); got != "en" {
		t.Errorf("after switching to English, recovery codes page in %q", got)
	}
}
