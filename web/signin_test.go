package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// signInCookie returns the Set-Cookie of the sign-in cookie in r, or nil.
func signInCookie(r *webtest.Response) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "smsretire_signin" {
			return c
		}
	}
	return nil
}

// ways lists the ways to sign in as the page offers them, in order.
func ways(doc *goquery.Document) []string {
	var out []string
	doc.Find(".signin-methods > li").Each(func(_ int, li *goquery.Selection) {
		id, _ := li.Attr("id")
		out = append(out, strings.TrimPrefix(id, "signin-"))
	})
	return out
}

// The account is asked for once, with the ways to sign in as the form's buttons; then the page
// names it masked, offers every way below it, the pressed one first, and remembers it on this
// device with the way that worked, until "not you?".
func TestSignIn_AsksForTheAccountOnceAndRemembersIt(t *testing.T) {
	srv := fastServer(t)
	secret, recoveryCode := enrolledWithRecovery(t, srv, "demo-zh")
	c := srv.Client()

	r := srv.Get(t, c, "/signin", nil)
	if ac, _ := r.Doc.Find("input#account").Attr("autocomplete"); ac != "username webauthn" {
		t.Errorf("account field autocomplete %q, want username webauthn", ac)
	}
	var buttons []string
	r.Doc.Find(`form[action="/signin/account"] button[name="method"]`).Each(func(_ int, b *goquery.Selection) {
		v, _ := b.Attr("value")
		buttons = append(buttons, v)
	})
	if strings.Join(buttons, ",") != "totp,email,approval,recovery" {
		t.Errorf("the account form's ways %q, want totp,email,approval,recovery", buttons)
	}
	if r.Doc.Find("input#totp-code, input#recovery-code").Length() != 0 || r.Doc.Find("input[name=account]").Length() != 1 {
		t.Error("the first page asks for more than the account")
	}
	if r.Doc.Find(`form[data-passkey="login"]`).Length() != 1 {
		t.Error("no passkey sign-in without an account")
	}

	r = srv.PostForm(t, c, "/signin/account", url.Values{"account": {"138 0013 8001"}, "method": {"recovery"}, "remember": {"1"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin?way=recovery" {
		t.Fatalf("account: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if ck := signInCookie(r); ck == nil || ck.MaxAge != 30*24*3600 || !ck.HttpOnly {
		t.Fatalf("remembered for %+v, want an HttpOnly cookie kept 30 days", ck)
	}
	r = srv.Get(t, c, "/signin?way=recovery", nil)
	if got := r.Doc.Find(".signin-shown").Text(); got != "138****8001" {
		t.Errorf("the account is shown as %q, want 138****8001", got)
	}
	if r.Doc.Find("input[name=account]").Length() != 0 {
		t.Error("the account is asked for again")
	}
	if got := strings.Join(ways(r.Doc), ","); got != "recovery,passkey,totp,email,approval" {
		t.Errorf("ways %q, want the chosen one first", got)
	}
	if _, open := r.Doc.Find("#signin-recovery details").Attr("open"); !open {
		t.Error("the chosen way's section is closed")
	}
	if r.Doc.Find(`form[action="/signin/forget"] button`).Length() != 1 {
		t.Error("no way to say \"not you?\"")
	}

	// The way that worked comes first next time, marked; the account is still there.
	if r = srv.PostForm(t, c, "/signin/recovery", url.Values{"code": {recoveryCode}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery code: %d %s", r.StatusCode, r.Doc.Find("main").Text())
	}
	srv.PostForm(t, c, "/signout", nil, nil)
	r = srv.Get(t, c, "/signin", nil)
	if got := strings.Join(ways(r.Doc), ","); got != "recovery,passkey,totp,email,approval" {
		t.Errorf("after a recovery code, ways %q", got)
	}
	if got := strings.TrimSpace(r.Doc.Find("#signin-recovery .badge").Text()); got != "上次使用" {
		t.Errorf("last-used mark %q", got)
	}
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r = srv.PostForm(t, c, "/signin/totp", url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/security" {
		t.Fatalf("app code: %d %s", r.StatusCode, r.Doc.Find("main").Text())
	}
	srv.PostForm(t, c, "/signout", nil, nil)
	r = srv.Get(t, c, "/signin", nil)
	if got := strings.Join(ways(r.Doc), ","); got != "totp,passkey,email,approval,recovery" {
		t.Errorf("after an app code, ways %q", got)
	}
	if _, focus := r.Doc.Find("input#totp-code").Attr("autofocus"); !focus {
		t.Error("the last way's code field is not ready")
	}

	// Not you? The device forgets the account.
	r = srv.PostForm(t, c, "/signin/forget", nil, nil)
	if ck := signInCookie(r); r.Header.Get("Location") != "/signin" || ck == nil || ck.MaxAge >= 0 {
		t.Fatalf("not you: %s, cookie %+v", r.Header.Get("Location"), ck)
	}
	if r = srv.Get(t, c, "/signin", nil); r.Doc.Find("input#account").Length() != 1 || r.Doc.Find(".signin-shown").Length() != 0 {
		t.Error("after \"not you?\" the account is still offered")
	}
}

// Without the box ticked, the account lasts for the browser session and is gone after signing out.
func TestSignIn_NotRememberedWithoutTheBox(t *testing.T) {
	srv := fastServer(t)
	secret, _ := enrolledWithRecovery(t, srv, "demo-zh")
	c := srv.Client()
	r := srv.PostForm(t, c, "/signin/account", url.Values{"account": {"demo-zh"}, "method": {"totp"}}, nil)
	if ck := signInCookie(r); ck == nil || ck.MaxAge != 0 || ck.Expires.After(time.Time{}) {
		t.Fatalf("cookie %+v, want one for the browser session", ck)
	}
	r = srv.Get(t, c, "/signin", nil)
	if got := r.Doc.Find(".signin-shown").Text(); got != "de***zh" {
		t.Errorf("shown %q, want de***zh", got)
	}
	if r.Doc.Find(".signin-chosen .muted").Length() != 0 {
		t.Error("the page says the device remembers the account")
	}
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r = srv.PostForm(t, c, "/signin/totp", url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	r = srv.PostForm(t, c, "/signout", nil, nil)
	if ck := signInCookie(r); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("signing out kept the account: %+v", ck)
	}
}

// Nothing on the sign-in page differs between an account that exists and one that does not: the
// pages after choosing the account, after asking for an email code and after a wrong code are
// the same but for the masked account, which comes from what was typed.
func TestSignIn_SamePagesForKnownAndUnknownAccounts(t *testing.T) {
	srv := fastServer(t)
	enrolledWithRecovery(t, srv, "demo-en")
	email := store.Factor{Kind: store.FactorEmail, Email: "alex.chen@example.com", Name: "alex.chen@example.com"}
	if _, err := srv.App.Enroll.Add(context.Background(), "demo-en", email, audit.Client{IP: "192.0.2.1"}, nil); err != nil {
		t.Fatal(err)
	}
	shown := regexp.MustCompile(`<strong class="signin-shown">[^<]*</strong>`)
	page := func(c *http.Client, path string, form url.Values) (int, string, string) {
		t.Helper()
		var r *webtest.Response
		if form == nil {
			r = srv.Get(t, c, path, nil)
		} else {
			r = srv.PostForm(t, c, path, form, nil)
		}
		return r.StatusCode, r.Header.Get("Location"), shown.ReplaceAllString(string(r.Body), "")
	}
	for _, pair := range [][2]string{{"demo-en", "demo-xx"}, {"138 0013 8002", "138 0013 8999"}} {
		known, unknown := srv.Client(), srv.Client()
		steps := []struct {
			path string
			form url.Values
		}{
			{"/signin/account", url.Values{"method": {"totp"}, "remember": {"1"}}},
			{"/signin?way=totp", nil},
			{"/signin/totp", url.Values{"code": {"000000"}}},
			{"/signin/account", url.Values{"method": {"email"}}},
			{"/signin?way=email", nil},
			{"/signin/email/check", url.Values{"code": {"000000"}}},
		}
		for _, st := range steps {
			fk, fu := st.form, st.form
			if st.path == "/signin/account" {
				fk, fu = url.Values{"account": {pair[0]}}, url.Values{"account": {pair[1]}}
				for k, v := range st.form {
					fk[k], fu[k] = v, v
				}
			}
			ks, kl, kb := page(known, st.path, fk)
			us, ul, ub := page(unknown, st.path, fu)
			if ks != us || kl != ul || kb != ub {
				t.Errorf("%s with %q and %q: %d %q and %d %q; pages differ: %v", st.path, pair[0], pair[1], ks, kl, us, ul, kb != ub)
			}
		}
	}
}

// A step-up asks the signed-in user only for the new factor: their account is offered, masked
// as they typed it, with a way back to My security; after "not you?" it is not.
func TestSignIn_StepUpOffersTheSignedInAccount(t *testing.T) {
	srv := fastServer(t)
	secret, _ := enrolledWithRecovery(t, srv, "demo-en")
	srv.Clock.Advance(30 * time.Second)
	c := signIn(t, srv, "demo-en", secret)
	srv.PostForm(t, c, "/signin/forget", nil, nil) // whatever this device remembered
	srv.Clock.Advance(11 * time.Minute)
	r := srv.Get(t, c, "/signin?next=%2Fsecurity&stepup=1", nil)
	if got := r.Doc.Find(".signin-shown").Text(); got != "" {
		t.Errorf("after \"not you?\" the signed-in account is offered anyway: %q", got)
	}
	c = signIn(t, srv, "demo-en", secret)
	srv.Clock.Advance(11 * time.Minute)
	r = srv.Get(t, c, "/signin?next=%2Fsecurity&stepup=1", nil)
	if got := r.Doc.Find(".signin-shown").Text(); got != "de***en" {
		t.Errorf("step-up for %q, want the account as typed, masked: de***en", got)
	}
	if href, _ := r.Doc.Find("p.back a").Attr("href"); href != "/security" {
		t.Errorf("way back %q, want /security", href)
	}
	srv.Clock.Advance(30 * time.Second)
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r = srv.PostForm(t, c, "/signin/totp", url.Values{"code": {code}}, nil); r.Header.Get("Location") != "/security" {
		t.Fatalf("step-up: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// Returning users find sign-in: in the header of every page, on the home page and in the FAQ,
// which tells them to sign in.
func TestSignIn_ReachableFromHomeHeaderAndFAQ(t *testing.T) {
	srv := fastServer(t)
	for _, lang := range []string{"zh-Hans", "en"} {
		tr := srv.Catalog.For(lang)
		for _, path := range []string{"/", "/faq", "/notice/" + srv.NoticeToken("demo-zh"), "/no/such/page"} {
			r := srv.Get(t, srv.Client(), path, cookieLang(lang))
			if got := strings.TrimSpace(r.Doc.Find(`header nav a[href="/signin"]`).Text()); got != tr.T("site.nav.signin") {
				t.Errorf("%s in %s: header sign-in link %q", path, lang, got)
			}
		}
		home := srv.Get(t, srv.Client(), "/", cookieLang(lang))
		if home.Doc.Find(`main a[href="/signin"]`).Length() == 0 {
			t.Errorf("home in %s has no sign-in link in the page", lang)
		}
		faq := srv.Get(t, srv.Client(), "/faq", cookieLang(lang))
		if faq.Doc.Find(`#faq-confirm a[href="/signin"]`).Length() != 1 {
			t.Errorf("the FAQ answer that says to sign in has no link, in %s", lang)
		}
	}
}

// Regression: the sign-in page's no-JavaScript note borrowed the set-up text about creating a
// passkey. Without JavaScript, the passkey card says signing in with one needs it and points to
// the other ways, in both languages.
func TestSignIn_PasskeyNoJavaScriptNoteIsAboutSigningIn(t *testing.T) {
	srv := fastServer(t)
	for _, lang := range []string{"zh-Hans", "en"} {
		tr := srv.Catalog.For(lang)
		r := srv.Get(t, srv.Client(), "/signin", cookieLang(lang))
		note := r.Doc.Find(`form[data-passkey="login"] noscript`)
		if note.Length() != 1 {
			t.Fatalf("%s: %d no-JavaScript notes on the passkey form, want 1", lang, note.Length())
		}
		// Parsed as if scripts ran, a noscript's content is its text.
		got := strings.TrimSpace(note.Text())
		if !strings.Contains(got, tr.T("signin.passkey.nojs")) {
			t.Errorf("%s: note %q, want %q", lang, got, tr.T("signin.passkey.nojs"))
		}
		if strings.Contains(got, tr.T("enroll.passkey.nojs")) || strings.Contains(got, "创建") || strings.Contains(got, "Creating") {
			t.Errorf("%s: the sign-in note talks about creating a passkey: %q", lang, got)
		}
	}
}
