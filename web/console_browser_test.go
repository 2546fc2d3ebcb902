package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web"
	"github.com/smsretire/smsretire/web/webtest"
)

// staffTab signs staff member m in, in a tab of its own browser context, as the staff sign-in
// would, and returns their journey in lang.
func staffTab(t *testing.T, s *webtest.Server, browser context.Context, m staff.Member, lang string) *journey {
	t.Helper()
	tab := testsupport.Tab(t, browser)
	_, token, err := s.App.Sessions.Start(context.Background(), session.Staff, m.ID, []string{"otp"}, audit.Client{IP: "127.0.0.1"}, session.Session{})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := web.SessionCookie(s.App, session.Staff, token)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{ck.Name: ck.Value, "lang": lang} {
		if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: s.URL + "/"}); err != nil {
			t.Fatal(err)
		}
	}
	return &journey{t: t, tab: tab, console: testsupport.WatchConsole(t, tab), base: s.URL, lang: lang}
}

// consoleHistory reads the user page's history as the agent sees it.
func consoleHistory(j *journey) []string {
	return evalAs[[]string](j, `[...document.querySelectorAll("#history-title ~ .table-scroll tbody tr td:nth-child(2)")].map((td) => td.textContent.trim())`)
}

// An agent finds a caller by phone number and reads them an assist code; the user, in their own
// browser, verifies with it and sets up an authenticator app; the agent sees both in the history.
// Then a supervisor resets the user's methods, in English, and the user's session ends.
func TestConsoleBrowser_AssistThenReset(t *testing.T) {
	s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }))
	browser := testsupport.Browser(t)
	agentMember := s.AddStaff(t, staff.Agent, "")
	agent := staffTab(t, s, browser, agentMember, i18n.Chinese)

	agent.open("/staff/dashboard")
	agent.check()
	agent.open("/staff/users")
	agent.check()
	agent.fill("#q", "+86 138-0013-8001")
	agent.click(`form.console-search button[type="submit"]`, "/staff/users/demo-zh")
	agent.check()
	if got := agent.text(".console-facts dd:nth-of-type(3)"); got != "138****8001" {
		t.Errorf("phone shown as %q, want it masked", got)
	}
	// Without a reason the browser refuses to send the form; the server would too.
	if valid := evalAs[bool](agent, `document.querySelector("#reason-assist").checkValidity()`); valid {
		t.Error("the assist code's reason is not required")
	}
	agent.fill("#reason-assist", "来电核实：姓名、身份证后四位")
	agent.click(`form[action="/staff/users/demo-zh/assist"] button[type="submit"]`, "/staff/users/demo-zh/assist")
	agent.check()
	code := strings.ReplaceAll(agent.text("#assist-code"), "-", "")
	if len(code) != 8 {
		t.Fatalf("assist code %q", code)
	}

	// The user, on the phone with the agent, in their own browser.
	user := &journey{t: t, tab: testsupport.Tab(t, browser), base: s.URL, lang: i18n.Chinese}
	user.console = testsupport.WatchConsole(t, user.tab)
	user.open("/notice/" + s.NoticeToken("demo-zh"))
	user.open("/verify/assist")
	user.fill("#code", code)
	user.click(`form[action="/verify/assist"] button[type="submit"]`, "/verify/done")
	user.open("/enroll/totp")
	secret := strings.ReplaceAll(user.text("#totp-secret"), " ", "")
	now, err := totp.CodeAt(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	user.fill("#code", now)
	user.click(`form[action="/enroll/totp"] button[type="submit"]`, "/enroll/recovery")
	user.click(`form[action="/enroll/recovery/done"] button[type="submit"]`, "/enroll/done")
	// Signed in with the new app, on My security.
	s.Clock.Advance(30 * time.Second)
	next, err := totp.CodeAt(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	user.open("/signin")
	user.fill("#totp-code", next)
	user.click(`form[action="/signin/totp"] button[type="submit"]`, "/security")

	// The agent sees the code's use and the new app in the history.
	agent.open("/staff/users/demo-zh")
	history := consoleHistory(agent)
	for _, want := range []string{"客服发放了协助码", "身份已确认（客服协助码）", "添加了验证方式：身份验证器应用", "短信验证已停用"} {
		if !slices.Contains(history, want) {
			t.Errorf("the agent's history lacks %q: %q", want, history)
		}
	}
	if got := agent.text(".console-facts dd:nth-of-type(5)"); got != "已停用短信验证" {
		t.Errorf("state %q", got)
	}
	if n := evalAs[int](agent, `document.querySelectorAll('a[href$="/reset"], form[action$="/deadline"]').length`); n != 0 {
		t.Errorf("an agent is offered %d supervisor actions", n)
	}

	// A supervisor, in English, resets the methods after confirming.
	boss := staffTab(t, s, browser, s.AddStaff(t, staff.Supervisor, ""), i18n.English)
	boss.open("/staff/users/demo-zh")
	boss.check()
	boss.click(`a[href="/staff/users/demo-zh/reset"]`, "/staff/users/demo-zh/reset")
	boss.check()
	boss.fill("#reason-reset", "Caller lost the phone with the app; identity checked by video call")
	boss.click(`form[action="/staff/users/demo-zh/reset"] button[type="submit"]`, "/staff/users/demo-zh")
	boss.check()
	if got := boss.text(`.alert-success[role="status"]`); got != "The methods were reset and the user was signed out everywhere." {
		t.Errorf("after the reset: %q", got)
	}
	if got := boss.text(".console-facts dd:nth-of-type(5)"); got != "Told" {
		t.Errorf("state after the reset %q", got)
	}
	if got := evalAs[int](user, `fetch("/security").then((r) => r.status)`); got != 401 {
		t.Errorf("the user's My security after the reset: %d, want 401", got)
	}
	boss.open("/staff/audit")
	boss.check()
	actions := evalAs[[]string](boss, `[...document.querySelectorAll("table.console-audit tbody tr td:nth-child(3)")].map((td) => td.textContent.trim())`)
	if !slices.Contains(actions, "Reset the methods") || !slices.Contains(actions, "Issued an assist code") {
		t.Errorf("audit log actions %q", actions)
	}
}
