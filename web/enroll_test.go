package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// verifiedClient opens a user's notice and verifies with an assist code, as support would give.
func verifiedClient(t *testing.T, srv *webtest.Server, userID string) *http.Client {
	t.Helper()
	code, _, err := srv.App.Identity.IssueAssistCode(context.Background(), userID, "test", audit.Client{IP: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	srv.Get(t, c, "/notice/"+srv.NoticeToken(userID), nil)
	r := srv.PostForm(t, c, "/verify/assist", url.Values{"code": {code}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/verify/done" {
		t.Fatalf("assist: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	return c
}

func fastServer(t *testing.T) *webtest.Server {
	return webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
}

func secretFrom(t *testing.T, r *webtest.Response) string {
	t.Helper()
	s := strings.ReplaceAll(strings.TrimSpace(r.Doc.Find("#totp-secret").Text()), " ", "")
	if len(s) != 32 {
		t.Fatalf("secret on page = %q", s)
	}
	if src, _ := r.Doc.Find("img.qr").Attr("src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR image src = %.40q", src)
	}
	return s
}

func TestEnrollTOTP_RetiresSMSThenSignsInAgain(t *testing.T) {
	srv := fastServer(t)
	ctx := context.Background()
	c := verifiedClient(t, srv, "demo-zh")

	r := srv.Get(t, c, "/enroll", nil)
	if r.StatusCode != http.StatusOK || r.Doc.Find(".option").Length() != 3 {
		t.Fatalf("choose page: %d, %d options", r.StatusCode, r.Doc.Find(".option").Length())
	}
	if first := r.Doc.Find(".option h2").First().Text(); !strings.Contains(first, "通行密钥") {
		t.Errorf("first option = %q, want the passkey", first)
	}
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))

	bad := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {"000000"}}, nil)
	if bad.StatusCode != http.StatusUnprocessableEntity || bad.Doc.Find("#code-error").Length() != 1 {
		t.Fatalf("wrong code: %d", bad.StatusCode)
	}
	if again := secretFrom(t, bad); again != secret {
		t.Fatal("a wrong code changed the secret")
	}
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	r = srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// A second submit of the same form adds nothing.
	r = srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("double submit: %d", r.StatusCode)
	}
	if fs, _ := srv.Store.Factors(ctx, "demo-zh"); len(fs) != 1 {
		t.Fatalf("factors = %d, want 1", len(fs))
	}

	rec := srv.Get(t, c, "/enroll/recovery", nil)
	codes := rec.Doc.Find(".recovery-codes code")
	if codes.Length() != 10 {
		t.Fatalf("recovery codes shown = %d", codes.Length())
	}
	recoveryCode := codes.First().Text()
	txt := srv.Get(t, c, "/enroll/recovery.txt", nil)
	if !strings.Contains(string(txt.Body), recoveryCode) || !strings.HasPrefix(txt.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("download: %s", txt.Header.Get("Content-Type"))
	}
	r = srv.PostForm(t, c, "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, nil)
	if r.Header.Get("Location") != "/enroll/done" {
		t.Fatalf("recovery done → %s", r.Header.Get("Location"))
	}
	if srv.Get(t, c, "/enroll/recovery", nil).Doc.Find(".recovery-codes code").Length() != 0 {
		t.Fatal("recovery codes shown twice")
	}
	done := srv.Get(t, c, "/enroll/done", nil)
	if !strings.Contains(done.Doc.Find("h1").Text(), "短信验证已停用") {
		t.Fatalf("done page h1 = %q", done.Doc.Find("h1").Text())
	}
	u, _ := srv.Store.UserByID(ctx, "demo-zh")
	if u.State != campaign.StateRetired || u.SMSRetiredAt.IsZero() {
		t.Fatalf("user = %+v", u)
	}
	topics := outboxTopics(t, srv.Store, "demo-zh")
	for _, want := range []string{"user.migrated", "factor.enrolled", "retired.confirmation"} {
		if topics[want] != 1 {
			t.Errorf("outbox %s = %d, want 1 (%v)", want, topics[want], topics)
		}
	}

	// Sign in again from a fresh browser: the enrollment code is spent, the next one works.
	b := srv.Client()
	r = srv.PostForm(t, b, "/signin/totp", url.Values{"account": {"demo-zh"}, "code": {code}}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("replayed code: %d", r.StatusCode)
	}
	srv.Clock.Advance(30 * time.Second)
	next, _ := totp.CodeAt(secret, srv.Clock.Now())
	r = srv.PostForm(t, b, "/signin/totp", url.Values{"account": {"+86 138 0013 8001"}, "code": {next}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/security" {
		t.Fatalf("sign in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	sec := srv.Get(t, b, "/security", nil)
	if sec.StatusCode != http.StatusOK {
		t.Fatalf("security: %d", sec.StatusCode)
	}
	history := sec.Doc.Find("table.history").Text()
	for _, want := range []string{"短信验证已停用", "登录成功（身份验证器应用）", "添加了验证方式：身份验证器应用"} {
		if !strings.Contains(history, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	if !strings.Contains(sec.Doc.Find(".status-retired").Text(), "短信验证已停用") {
		t.Error("status does not say SMS is retired")
	}

	// A recovery code signs in once.
	r = srv.PostForm(t, srv.Client(), "/signin/recovery", url.Values{"account": {"demo-zh"}, "code": {strings.ToLower(recoveryCode)}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery sign-in: %d", r.StatusCode)
	}
	r = srv.PostForm(t, srv.Client(), "/signin/recovery", url.Values{"account": {"demo-zh"}, "code": {recoveryCode}}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("recovery code reused: %d", r.StatusCode)
	}
}

func TestSignIn_UnknownAccountAnswersLikeAWrongCode(t *testing.T) {
	srv := fastServer(t)
	known := srv.PostForm(t, srv.Client(), "/signin/totp", url.Values{"account": {"demo-en"}, "code": {"123456"}}, nil)
	unknown := srv.PostForm(t, srv.Client(), "/signin/totp", url.Values{"account": {"nobody-here"}, "code": {"123456"}}, nil)
	if known.StatusCode != unknown.StatusCode || known.Doc.Find("#error-summary").Text() != unknown.Doc.Find("#error-summary").Text() {
		t.Fatalf("known %d %q, unknown %d %q", known.StatusCode, known.Doc.Find("#error-summary").Text(), unknown.StatusCode, unknown.Doc.Find("#error-summary").Text())
	}
}

func TestEnroll_RefusedWithoutVerification(t *testing.T) {
	srv := fastServer(t)
	for _, path := range []string{"/enroll", "/enroll/totp", "/enroll/email", "/enroll/passkey"} {
		if r := srv.Get(t, srv.Client(), path, nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", path, r.StatusCode)
		}
	}
	if r := srv.Get(t, srv.Client(), "/security", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("/security: %d", r.StatusCode)
	}
	c := verifiedClient(t, srv, "demo-en")
	srv.Clock.Advance(16 * time.Minute) // past the elevated window
	if r := srv.Get(t, c, "/enroll", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("after the window: %d", r.StatusCode)
	}
}

func TestEnrollEmail_ConfirmsWithCodeAndDoubleSubmitAddsOne(t *testing.T) {
	var mu sync.Mutex
	var codes []string
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }), webtest.WithParts(func(p *app.Parts) {
		p.CodeMessages = func(u campaign.User, m identity.Message) (store.OutboxItem, error) {
			mu.Lock()
			codes = append(codes, m.Code)
			mu.Unlock()
			return identity.CodeMessage(u, m)
		}
	}))
	c := verifiedClient(t, srv, "demo-en")
	if r := srv.PostForm(t, c, "/enroll/email", url.Values{"email": {"not an address"}}, nil); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, c, "/enroll/email", url.Values{"email": {"Alex.New@Example.com"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", r.StatusCode)
	}
	page := srv.Get(t, c, "/enroll/email", nil)
	if !strings.Contains(page.Doc.Find("main").Text(), "alex.new@example.com") {
		t.Fatal("code page does not name the address")
	}
	mu.Lock()
	code := codes[len(codes)-1]
	mu.Unlock()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.PostForm(t, c, "/enroll/email/confirm", url.Values{"code": {code}}, nil)
		}()
	}
	wg.Wait()
	fs, _ := srv.Store.Factors(context.Background(), "demo-en")
	if len(fs) != 1 || fs[0].Email != "alex.new@example.com" {
		t.Fatalf("factors = %+v", fs)
	}
}

func outboxTopics(t *testing.T, st *store.SQL, userID string) map[string]int {
	t.Helper()
	items, err := st.RecentOutbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, it := range items {
		if it.UserID == userID {
			out[it.Topic]++
		}
	}
	return out
}

// The verification is a grant kept in the database, not a bearer cookie: a copy of the cookie
// from /verify/done adds no factor once the user has enrolled (the first factor uses the grant
// up) and signed out (which ends it), though the verification window has not passed.
func TestEnroll_ACopiedVerificationCookieAddsNothingAfterEnrollmentAndSignOut(t *testing.T) {
	srv := fastServer(t)
	ctx := context.Background()
	c := verifiedClient(t, srv, "demo-zh")
	if r := srv.Get(t, c, "/verify/done", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("/verify/done: %d", r.StatusCode)
	}
	copied := srv.Cookie(c, "smsretire")
	replay := func() *http.Client {
		b := srv.Client()
		u, _ := url.Parse(srv.URL)
		b.Jar.SetCookies(u, []*http.Cookie{{Name: "smsretire", Value: copied}})
		return b
	}
	// Before anything happened, the copy is as good as the original: the grant is live.
	if r := srv.Get(t, replay(), "/enroll", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("copy before enrollment: %d", r.StatusCode)
	}

	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil); r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("enroll: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	// The first factor used the grant up: the enrollment's own pages still show, but another
	// factor takes a sign-in with the new one, in this browser and with the copy.
	if r := srv.Get(t, c, "/enroll/recovery", nil); r.StatusCode != http.StatusOK || r.Doc.Find(".recovery-codes code").Length() != 10 {
		t.Fatalf("recovery codes after the first factor: %d", r.StatusCode)
	}
	for name, b := range map[string]*http.Client{"this browser": c, "the copy": replay()} {
		r := srv.Get(t, b, "/enroll/totp", nil)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=%2Fenroll%2Ftotp&stepup=1") {
			t.Errorf("%s adding a second factor: %d → %s, want the step-up sign-in", name, r.StatusCode, r.Header.Get("Location"))
		}
	}

	srv.Clock.Advance(30 * time.Second)
	c = signIn(t, srv, "demo-zh", secret)
	if r := srv.PostForm(t, c, "/signout", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.StatusCode)
	}

	// Within the verification window, after sign-out, the copy adds nothing by any way.
	b := replay()
	for _, path := range []string{"/enroll", "/enroll/totp", "/enroll/email", "/enroll/passkey", "/enroll/recovery", "/enroll/done", "/verify/done"} {
		if r := srv.Get(t, b, path, nil); r.StatusCode == http.StatusOK {
			t.Errorf("GET %s with the copy after sign-out: 200", path)
		}
	}
	if r := srv.PostForm(t, b, "/enroll/email", url.Values{"email": {"thief@example.com"}}, nil); r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") == "/enroll/email" {
		t.Error("the copy sent an email factor's code after sign-out")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/enroll/passkey/options", nil)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r := webtest.ReadResponse(t, resp); r.StatusCode != http.StatusForbidden {
		t.Errorf("passkey options with the copy after sign-out: %d", r.StatusCode)
	}
	if fs, _ := srv.Store.Factors(ctx, "demo-zh"); len(fs) != 1 {
		t.Fatalf("factors = %d, want the one enrolled", len(fs))
	}
	if srv.Clock.Now().Sub(webtest.Now) >= srv.Config.ElevatedWindow {
		t.Fatal("the test ran past the verification window; it proves nothing")
	}
}

// Regression: verifying by email and then choosing the email factor refused to send ("wait 58
// seconds"), though no factor code had been asked for: each purpose has its own resend wait.
func TestEnrollEmail_SendsRightAfterVerifyingByEmail(t *testing.T) {
	srv := webtest.NewServer(t, withDelivery(), webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
	c := srv.Client()
	srv.Get(t, c, "/notice/"+srv.NoticeToken("demo-zh"), nil)
	if r := srv.PostForm(t, c, "/verify/code/send", url.Values{"channel": {"email"}}, nil); r.Header.Get("Location") != "/verify/code" {
		t.Fatalf("send: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	srv.Deliver(t)
	if r := srv.PostForm(t, c, "/verify/code/check", url.Values{"code": {srv.LastCode(t, zhEmail)}}, nil); r.Header.Get("Location") != "/verify/done" {
		t.Fatalf("check: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r := srv.PostForm(t, c, "/enroll/email", url.Values{"email": {"second@example.com"}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/enroll/email" {
		t.Fatalf("email factor right after verifying by email: %d, %q", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
	if n := deliveredTo(t, srv, "second@example.com"); n != 1 {
		t.Errorf("%d messages to the new address, want 1", n)
	}
}

// The authenticator app lists the key under the service's name and the user's name or masked
// phone, never the account ID; a passkey manager lists the passkey the same way.
func TestEnroll_AppsNameTheServiceAndTheUserNotAnID(t *testing.T) {
	srv := fastServer(t)
	for user, want := range map[string]string{"demo-zh": "smsretire（张伟）", "demo-today": "smsretire（138****8005）"} {
		c := verifiedClient(t, srv, user)
		r := srv.Get(t, c, "/enroll/totp", nil)
		got := strings.TrimSpace(r.Doc.Find(".totp-names").Text())
		if !strings.Contains(got, want) || strings.Contains(got, user) {
			t.Errorf("%s: the app lists the key as %q, want %q", user, got, want)
		}
		opts := srv.PostForm(t, c, "/enroll/passkey/options", url.Values{}, nil)
		if body := string(opts.Body); strings.Contains(body, `"name":"`+user+`"`) || !strings.Contains(body, strings.TrimSuffix(strings.TrimPrefix(want, "smsretire（"), "）")) {
			t.Errorf("%s: passkey options name the user as %s", user, body)
		}
	}
}

// The choice is honest: each method says what happens when the device is lost or replaced and
// what it costs (free apps named as free), a passkey is explained in a line, and each control
// names its method: "选择通行密钥", not "选择此方式 : 通行密钥".
func TestEnrollChoose_SaysWhatEachMethodCostsAndRisks(t *testing.T) {
	srv := fastServer(t)
	c := verifiedClient(t, srv, "demo-zh")
	for _, lang := range i18n.Languages {
		tr := srv.Catalog.For(lang)
		r := srv.Get(t, c, "/enroll", cookieLang(lang))
		var links []string
		r.Doc.Find(".option").Each(func(i int, opt *goquery.Selection) {
			key := []string{"passkey", "app", "email"}[i]
			facts := map[string]string{}
			opt.Find(".option-facts div").Each(func(_ int, d *goquery.Selection) {
				facts[strings.TrimSpace(d.Find("dt").Text())] = strings.TrimSpace(d.Find("dd").Text())
			})
			if facts[tr.T("enroll.row.lost")] != tr.T("enroll."+key+".lost") {
				t.Errorf("%s %s: if the device is lost: %q", lang, key, facts[tr.T("enroll.row.lost")])
			}
			if facts[tr.T("enroll.row.cost")] != tr.T("enroll."+key+".cost") {
				t.Errorf("%s %s: cost %q", lang, key, facts[tr.T("enroll.row.cost")])
			}
			links = append(links, strings.TrimSpace(opt.Find("a.button").Text()))
			if opt.Find(".visually-hidden").Length() != 0 {
				t.Errorf("%s %s: the link's name is patched with hidden text", lang, key)
			}
		})
		if want := tr.T("enroll.passkey.choose") + "|" + tr.T("enroll.app.choose") + "|" + tr.T("enroll.email.choose"); strings.Join(links, "|") != want {
			t.Errorf("%s: the choices read %q, want %q", lang, links, want)
		}
		if !strings.Contains(r.Doc.Find("details.explain").Text(), tr.T("enroll.passkey.explain.q")) {
			t.Errorf("%s: no short \"what is a passkey\"", lang)
		}
		if !strings.Contains(tr.T("enroll.app.cost"), "Google Authenticator") {
			t.Errorf("%s: the app's cost names no free app", lang)
		}
	}
}

// Regression: /verify had two buttons called "发送验证码"; each says which way it sends.
func TestVerifyChoose_EachButtonNamesItsWay(t *testing.T) {
	srv := fastServer(t)
	c := srv.Client()
	srv.Get(t, c, "/notice/"+srv.NoticeToken("demo-zh"), nil)
	r := srv.Get(t, c, "/verify", nil)
	seen := map[string]bool{}
	r.Doc.Find("main button, main a.button").Each(func(_ int, b *goquery.Selection) {
		name := strings.TrimSpace(b.Text())
		if seen[name] {
			t.Errorf("two controls are called %q", name)
		}
		seen[name] = true
	})
	if !seen["发送短信验证码"] || !seen["发送邮箱验证码"] {
		t.Errorf("the send buttons are %v", seen)
	}
}
