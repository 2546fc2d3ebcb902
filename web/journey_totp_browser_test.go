package web_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// TestJourney_TOTPInChinese is the whole way of a Chinese user on a phone, in real headless
// Chromium: the notice, a code by email (delivered by the outbox worker over real SMTP), an
// authenticator app set up from the key on the page, recovery codes, signing in again with the
// app, My security saying SMS is retired, and signing out.
func TestJourney_TOTPInChinese(t *testing.T) {
	mailServer := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }),
		webtest.WithDelivery(webtest.DeliveryOptions{SMTP: mailServer}))
	tab := testsupport.Tab(t, testsupport.Browser(t))
	j := &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: srv.URL, lang: i18n.Chinese, phone: true}
	speak(t, tab, "zh-CN,zh")
	if err := chromedp.Do(tab, chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)); err != nil {
		t.Fatal(err)
	}
	// The copy button writes to the clipboard, and the test reads it back: grant both, as a person
	// would when the browser asks.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tab, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: srv.URL, BrowserContextID: chromedp.FromContext(tab).BrowserContextID,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}

	// The notice leads to verification; a code goes to the registered email.
	j.open("/notice/" + srv.NoticeToken("demo-zh"))
	j.click(`a.button[href="/verify"]`, "/verify")
	j.click(`form:has(input[name="channel"][value="email"]) button[type="submit"]`, "/verify/code")
	if n := srv.Deliver(t); n < 1 {
		t.Fatalf("worker delivered %d messages, want the code", n)
	}
	code := mailedCode(t, mailServer, "zhang.wei@example.com", "您的 smsretire 验证码")
	j.fill("#code", code)
	j.click(`#code-form button[type="submit"]`, "/verify/done")
	if got := j.text("h1"); got != "身份已确认" {
		t.Errorf("verified page h1 %q", got)
	}

	// The choice of methods, and the pages of the other two, pass axe.
	j.click(`.cta a.button`, "/enroll")
	j.check()
	if got := j.text(".option h2"); !strings.HasPrefix(got, "通行密钥") {
		t.Errorf("first option %q, want the passkey", got)
	}
	for _, p := range []string{"/enroll/passkey", "/enroll/email", "/enroll"} {
		j.open(p)
		j.check()
	}

	// The authenticator app: the key on the page gives the code.
	j.click(`a.button[href="/enroll/totp"]`, "/enroll/totp")
	j.check()
	j.screenshot("journey-enroll-totp-phone-zh.png")
	shown := j.text("#totp-secret")
	secret := strings.ReplaceAll(shown, " ", "")
	if len(secret) != 32 {
		t.Fatalf("key on the page %q", shown)
	}
	if w := evalAs[int](j, `document.querySelector("img.qr").naturalWidth`); w == 0 {
		t.Error("the QR code image did not load")
	}
	// Without JavaScript the copy button would do nothing, so it is hidden until app.js wires it.
	hidden := `(() => { const b = document.querySelector("button[data-copy]").cloneNode(true); b.hidden = true;
		document.querySelector("main").append(b); const d = getComputedStyle(b).display; b.remove(); return d; })()`
	if got := j.eval(hidden); got != "none" {
		t.Errorf("a copy button marked hidden is displayed %q", got)
	}
	copyButton := `button[data-copy="#totp-secret"]`
	j.press(copyButton)
	if got := j.waitText(copyButton, "已复制"); got != "已复制" {
		t.Errorf("copy button says %q after copying, want 已复制", got)
	}
	if got := j.eval(`navigator.clipboard.readText()`); got != shown {
		t.Errorf("clipboard holds %q, want the key %q", got, shown)
	}
	// A mistyped code: the error summary takes the focus, the key stays the same.
	j.fill("#code", "000000")
	j.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/totp")
	j.check()
	if got := j.eval(`document.activeElement.id`); got != "error-summary" {
		t.Errorf("after a wrong code, focus on %q, want the error summary", got)
	}
	if got := strings.ReplaceAll(j.text("#totp-secret"), " ", ""); got != secret {
		t.Errorf("a wrong code changed the key to %s", got)
	}
	now, err := totp.CodeAt(secret, srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	j.fill("#code", now)
	j.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/recovery")

	// Recovery codes: ten, a download and a print button.
	j.check()
	codes := evalAs[[]string](j, `[...document.querySelectorAll(".recovery-codes code")].map((c) => c.textContent.trim())`)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	if got := j.text(`a[href="/enroll/recovery.txt"][download]`); got != "下载为文本文件" {
		t.Errorf("download link %q", got)
	}
	txt := j.eval(`fetch("/enroll/recovery.txt").then((r) => r.text())`)
	for _, c := range codes {
		if !strings.Contains(txt, c) {
			t.Errorf("the download lacks %s", c)
		}
	}
	j.eval(`window.print = () => { window.printed = true; }; ""`)
	j.press(`button[data-print]`)
	if !evalAs[bool](j, `window.printed === true`) {
		t.Error("the print button did not print")
	}
	j.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
	j.check()
	if got := j.text("h1"); got != "短信验证已停用" {
		t.Errorf("done page h1 %q", got)
	}
	if n := srv.Deliver(t); n < 1 {
		t.Errorf("worker delivered %d messages, want the confirmation", n)
	}
	mailedTo(t, mailServer, "zhang.wei@example.com", "您的 smsretire 账户已停用短信验证")

	// Sign in again with the app, 30 seconds later: the enrollment code is spent.
	j.click(`.cta a.button`, "/signin")
	j.check()
	srv.Clock.Advance(30 * time.Second)
	next, err := totp.CodeAt(secret, srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The account this browser verified is offered, masked; the app's code field comes first.
	if got := j.text(".signin-shown"); got != "138****8001" {
		t.Errorf("sign-in is for %q, want the masked phone 138****8001", got)
	}
	j.fill("#totp-code", now) // the code of the enrollment, spent
	j.click(`form[action="/signin/totp"] button[type="submit"]`, "/signin/totp")
	j.check()
	if got := j.text("#error-summary li"); got != "账户或验证码不正确。" {
		t.Errorf("replayed code: %q", got)
	}
	j.fill("#totp-code", next)
	j.click(`form[action="/signin/totp"] button[type="submit"]`, "/security")
	j.check()
	j.screenshot("journey-security-phone-zh.png")
	if got := j.text(".status-retired"); !strings.HasPrefix(got, "短信验证已停用") {
		t.Errorf("status %q, want SMS retired", got)
	}
	events := evalAs[[]string](j, `[...document.querySelectorAll("table.history tbody tr td .event-text")].map((td) => td.textContent.trim())`)
	for _, want := range []string{"短信验证已停用", "添加了验证方式：身份验证器应用", "登录成功（身份验证器应用）"} {
		if !slices.Contains(events, want) {
			t.Errorf("history lacks %q: %q", want, events)
		}
	}
	if got := j.text(".factor-cards h3"); got != "身份验证器应用" {
		t.Errorf("factor %q", got)
	}

	// Signing out ends the session and says so.
	j.click(`form[action="/signout"] button[type="submit"]`, "/signin")
	if got := j.text(`.alert-success[role="status"]`); got != "您已退出登录。" {
		t.Errorf("signed-out notice %q", got)
	}
	if got := evalAs[int](j, `fetch("/security").then((r) => r.status)`); got != 401 {
		t.Errorf("My security after signing out: %d, want 401", got)
	}
}

// mailedCode returns the code in the last message to to, which must have the subject.
func mailedCode(t *testing.T, s *testsupport.SMTPServer, to, subject string) string {
	t.Helper()
	m := mailedTo(t, s, to, subject)
	code := webtest.CodeIn(m.Part("text/plain"))
	if code == "" {
		t.Fatalf("no code in the mail: %q", m.Part("text/plain"))
	}
	return code
}

// mailedTo returns the last message to to, which must have come over TLS with the subject.
func mailedTo(t *testing.T, s *testsupport.SMTPServer, to, subject string) testsupport.ReceivedMail {
	t.Helper()
	ms := s.Messages()
	for i := len(ms) - 1; i >= 0; i-- {
		if len(ms[i].To) == 1 && ms[i].To[0] == to {
			if got := ms[i].Header("Subject"); got != subject {
				t.Fatalf("last mail to %s: subject %q, want %q", to, got, subject)
			}
			if !ms[i].TLS {
				t.Errorf("mail to %s went without TLS", to)
			}
			return ms[i]
		}
	}
	t.Fatalf("no mail to %s among %d", to, len(ms))
	return testsupport.ReceivedMail{}
}
