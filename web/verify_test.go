package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// The demo users' registered addresses, where their codes go.
const (
	zhPhone   = "+8613800138001" // demo-zh, Chinese, phone + email + ID digits 123X
	zhEmail   = "zhang.wei@example.com"
	enPhone   = "+8613800138002" // demo-en, English
	enEmail   = "alex.chen@example.com"
	latePhone = "+8613800138003" // demo-late, past its deadline
	lateEmail = "li.na@example.com"
	hkPhone   = "+85291234567" // demo-hk, English
)

const testUA = "smsretire-verify-test/1.0"

// visitor is one browser going through verification: its own cookies, and the headers every
// request carries (a language choice, a user agent).
type visitor struct {
	t *testing.T
	s *webtest.Server
	c *http.Client
	h http.Header
}

func newVisitor(t *testing.T, s *webtest.Server, header http.Header) *visitor {
	t.Helper()
	h := http.Header{"User-Agent": {testUA}}
	for k, v := range header {
		h[k] = v
	}
	return &visitor{t: t, s: s, c: s.Client(), h: h}
}

// with returns the visitor's headers and extra.
func (v *visitor) with(extra http.Header) http.Header {
	h := v.h.Clone()
	for k, vs := range extra {
		h[k] = vs
	}
	return h
}

func (v *visitor) get(path string) *webtest.Response {
	v.t.Helper()
	return v.s.Get(v.t, v.c, path, v.h)
}

func (v *visitor) post(path string, form url.Values) *webtest.Response {
	v.t.Helper()
	return v.s.PostForm(v.t, v.c, path, form, v.h)
}

// openNotice opens userID's signed notice link, which names the account.
func (v *visitor) openNotice(userID string) {
	v.t.Helper()
	if r := v.get("/notice/" + v.s.NoticeToken(userID)); r.StatusCode != http.StatusOK {
		v.t.Fatalf("notice of %s: status %d", userID, r.StatusCode)
	}
}

// lookUp types account into the home page's look-up form.
func (v *visitor) lookUp(account string) {
	v.t.Helper()
	r := v.post("/find", url.Values{"account": {account}})
	wantRedirect(v.t, r, "/verify")
}

// send asks for a code by channel and expects the code form.
func (v *visitor) send(ch string) {
	v.t.Helper()
	r := v.post("/verify/code/send", url.Values{"channel": {ch}})
	wantRedirect(v.t, r, "/verify/code")
}

func (v *visitor) check(code string) *webtest.Response {
	v.t.Helper()
	return v.post("/verify/code/check", url.Values{"code": {code}})
}

func (v *visitor) cookie() string { return v.s.Cookie(v.c, "smsretire") }

func wantRedirect(t *testing.T, r *webtest.Response, to string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s %s: status %d, want 303 to %s\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, to, mainText(r.Doc))
	}
	if got := r.Header.Get("Location"); got != to {
		t.Fatalf("%s %s: Location %q, want %q", r.Request.Method, r.Request.URL.Path, got, to)
	}
}

func wantStatus(t *testing.T, r *webtest.Response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, mainText(r.Doc))
	}
}

// codeError asserts the code form's message, beside the field and in the error summary.
func codeError(t *testing.T, r *webtest.Response, want string) {
	t.Helper()
	if got := strings.TrimSpace(r.Doc.Find("#code-error").Text()); got != want {
		t.Errorf("field message %q, want %q", got, want)
	}
	if got := strings.TrimSpace(r.Doc.Find(`#error-summary a[href="#code"]`).Text()); got != want {
		t.Errorf("error summary %q, want %q", got, want)
	}
	if got := r.Doc.Find("input#code").AttrOr("aria-invalid", ""); got != "true" {
		t.Errorf(`code input aria-invalid=%q, want "true"`, got)
	}
}

// blockedSays checks that a page says a way is paused with want, as news headed so, and not as a
// mistake in a field: no error summary, no field marked invalid.
func blockedSays(t *testing.T, r *webtest.Response, want string) {
	t.Helper()
	if got := strings.TrimSpace(r.Doc.Find("#blocked p").Text()); got != want {
		t.Errorf("the page says %q, want %q", got, want)
	}
	if r.Doc.Find("#blocked h2").Length() != 1 {
		t.Error("the pause has no heading")
	}
	if r.Doc.Find("#error-summary").Length() != 0 || r.Doc.Find("[aria-invalid]").Length() != 0 {
		t.Errorf("a paused way is shown as an input error: %q", r.Doc.Find("#error-summary").Text())
	}
}

// wrongOf returns a code that is not code.
func wrongOf(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// clockTime writes t as the pages do: the time of day in the configured zone.
func clockTime(s *webtest.Server, t time.Time) string {
	return t.In(s.Config.Location()).Format("15:04")
}

// lastEvent returns the newest event of typ in userID's history.
func lastEvent(t *testing.T, s *webtest.Server, userID string, typ audit.Type) (audit.Event, bool) {
	t.Helper()
	evs, err := s.Store.Events(context.Background(), userID, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == typ {
			return e, true
		}
	}
	return audit.Event{}, false
}

func countEvents(t *testing.T, s *webtest.Server, userID string, typ audit.Type) int {
	t.Helper()
	evs, err := s.Store.Events(context.Background(), userID, 200)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func userState(t *testing.T, s *webtest.Server, userID string) campaign.State {
	t.Helper()
	u, err := s.Store.UserByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u.State
}

// wantVerified asserts the history and state of a verification by method, from a visitor.
func wantVerified(t *testing.T, s *webtest.Server, userID, method string) {
	t.Helper()
	wantVerifiedBy(t, s, userID, method, testUA)
}

// wantVerifiedBy asserts the history and state of a verification by method from a browser that
// sent the user agent ua.
func wantVerifiedBy(t *testing.T, s *webtest.Server, userID, method, ua string) {
	t.Helper()
	if st := userState(t, s, userID); st != campaign.StateVerified {
		t.Errorf("%s: state %q, want verified", userID, st)
	}
	e, ok := lastEvent(t, s, userID, audit.VerifySucceeded)
	if !ok {
		t.Fatalf("%s: no %s in the history", userID, audit.VerifySucceeded)
	}
	if e.Detail["method"] != method || e.IP != "127.0.0.1" || e.UserAgent != ua || !e.CreatedAt.Equal(s.Clock.Now()) {
		t.Errorf("%s: %s event = method %q, IP %q, UA %q, at %s; want %s, 127.0.0.1, %q, %s",
			userID, e.Type, e.Detail["method"], e.IP, e.UserAgent, e.CreatedAt, method, ua, s.Clock.Now())
	}
}

// deliveredTo runs the delivery worker and returns how many messages it delivered to to.
func deliveredTo(t *testing.T, s *webtest.Server, to string) int {
	t.Helper()
	before := len(s.Devbox.For(to))
	s.Deliver(t)
	return len(s.Devbox.For(to)) - before
}

func withDelivery() webtest.ServerOption {
	return webtest.WithDelivery(webtest.DeliveryOptions{})
}

func TestVerifyCode_FromNoticeLinkVerifiesInAFreshSession(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tests := []struct {
		user, ch, to, lang, masked string
	}{
		{"demo-zh", "phone", zhPhone, i18n.Chinese, phone.Mask(zhPhone)},
		{"demo-en", "email", enEmail, i18n.English, campaign.MaskEmail(enEmail)},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.ch, func(t *testing.T) {
			tr := s.Catalog.For(tt.lang)
			v := newVisitor(t, s, nil) // the roster's language: no choice in the browser
			v.openNotice(tt.user)

			r := v.get("/verify")
			wantStatus(t, r, http.StatusOK)
			checkPage(t, s, r, tt.lang, "verify.title")
			if want := tr.Tf("verify."+tt.ch+".to_masked", map[string]any{"Target": tt.masked}); !strings.Contains(mainText(r.Doc), want) {
				t.Errorf("the method list does not say %q", want)
			}

			v.send(tt.ch)
			r = v.get("/verify/code")
			wantStatus(t, r, http.StatusOK)
			checkPage(t, s, r, tt.lang, "verify.code.title")
			if want := tr.Tf("verify.code.sent_"+tt.ch+"_masked", map[string]any{"Target": tt.masked}); !strings.Contains(mainText(r.Doc), want) {
				t.Errorf("the code page does not say %q", want)
			}
			input := r.Doc.Find(`form[action="/verify/code/check"][method="post"] input#code[name="code"]`)
			if input.AttrOr("autocomplete", "") != "one-time-code" || input.AttrOr("inputmode", "") != "numeric" {
				t.Errorf("code input: %d found, autocomplete %q, inputmode %q", input.Length(), input.AttrOr("autocomplete", ""), input.AttrOr("inputmode", ""))
			}

			if n := deliveredTo(t, s, tt.to); n != 1 {
				t.Fatalf("delivered %d messages, want 1", n)
			}
			code := s.LastCode(t, tt.to)
			before := v.cookie()
			r = v.check(code[:3] + " " + code[3:])
			wantRedirect(t, r, "/verify/done")
			after := v.cookie()
			if after == "" || after == before {
				t.Fatal("the session cookie was not renewed on verification")
			}

			r = v.get("/verify/done")
			wantStatus(t, r, http.StatusOK)
			checkPage(t, s, r, tt.lang, "verify.done.title")
			wantVerified(t, s, tt.user, tt.ch)

			// The session from before verification (one an attacker could have planted) gains nothing,
			// and the verified session carries nothing over from it.
			r = s.Get(t, s.Client(), "/verify/done", http.Header{"Cookie": {"smsretire=" + before}})
			wantRedirect(t, r, "/")
			wantRedirect(t, v.get("/verify/code"), "/")
		})
	}
}

func TestVerifyDone_SaysHowLongTheConfirmationLastsUntilItRunsOut(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tr := s.Catalog.For(i18n.English)
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.openNotice("demo-en")
	v.send("email")
	s.Deliver(t)
	wantRedirect(t, v.check(s.LastCode(t, enEmail)), "/verify/done")
	s.Clock.Advance(s.Config.ElevatedWindow - 5*time.Minute)
	r := v.get("/verify/done")
	wantStatus(t, r, http.StatusOK)
	if got, want := strings.TrimSpace(r.Doc.Find(`main [role="status"]`).Text()), tr.Tf("verify.done.body", map[string]any{"Minutes": 5}); got != want {
		t.Errorf("with 5 minutes left: %q, want %q", got, want)
	}
	s.Clock.Advance(5 * time.Minute)
	r = v.get("/verify/done")
	wantStatus(t, r, http.StatusForbidden)
	checkPage(t, s, r, i18n.English, "error.need_verify.title")
}

func TestVerifyCode_FromLookUpByPhoneInAnyFormatOrAccountID(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tests := []struct {
		typed, user, ch, to string
	}{
		{"+86 138-0013-8001", "demo-zh", "phone", zhPhone},
		{"0086 138 0013 8002", "demo-en", "email", enEmail},
		{"(138) 0013-8005", "demo-today", "phone", "+8613800138005"},
		{"demo-hk", "demo-hk", "phone", hkPhone},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			tr := s.Catalog.For(i18n.Chinese)
			v := newVisitor(t, s, cookieLang(i18n.Chinese))
			v.lookUp(tt.typed)

			// A look-up may name anyone: nothing of the account is shown.
			r := v.get("/verify")
			wantStatus(t, r, http.StatusOK)
			checkPage(t, s, r, i18n.Chinese, "verify.title")
			text := mainText(r.Doc)
			if !strings.Contains(text, tr.T("verify.phone.to_registered")) || !strings.Contains(text, tr.T("verify.email.to_registered")) {
				t.Errorf("the method list does not offer both codes in general terms: %q", text)
			}
			if strings.Contains(string(r.Body), "****") || strings.Contains(string(r.Body), "***@") {
				t.Error("a look-up shows a masked contact detail")
			}

			v.send(tt.ch)
			r = v.get("/verify/code")
			if want := tr.T("verify.code.sent_" + tt.ch + "_generic"); !strings.Contains(mainText(r.Doc), want) {
				t.Errorf("the code page does not say %q", want)
			}
			if n := deliveredTo(t, s, tt.to); n != 1 {
				t.Fatalf("delivered %d messages, want 1", n)
			}
			r = v.check(s.LastCode(t, tt.to))
			wantRedirect(t, r, "/verify/done")
			wantVerified(t, s, tt.user, tt.ch)
		})
	}
}

func TestVerifyCodeCheck_WrongCodesSayAttemptsLeftThenLock(t *testing.T) {
	tests := []struct {
		name, user, to, lang string
		header               http.Header
	}{
		{"roster Chinese", "demo-zh", zhPhone, i18n.Chinese, nil},
		{"roster English", "demo-en", enPhone, i18n.English, nil},
		{"chosen Chinese", "demo-hk", hkPhone, i18n.Chinese, cookieLang(i18n.Chinese)},
	}
	s := webtest.NewServer(t, withDelivery())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := s.Catalog.For(tt.lang)
			v := newVisitor(t, s, tt.header)
			v.openNotice(tt.user)
			v.send("phone")
			s.Deliver(t)
			code := s.LastCode(t, tt.to)
			wrong := wrongOf(code)
			for left := 4; left >= 1; left-- {
				r := v.check(wrong)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				checkPage(t, s, r, tt.lang, "verify.code.title")
				codeError(t, r, tr.TN("verify.err.wrong", left, nil))
				if got := r.Doc.Find("input#code").AttrOr("value", ""); got != wrong {
					t.Errorf("the form keeps %q, want %q", got, wrong)
				}
			}
			until := s.Clock.Now().Add(s.Config.LockoutDuration)
			locked := tr.Tf("verify.err.locked.phone", map[string]any{"Time": clockTime(s, until), "Minutes": 15})
			r := v.check(wrong)
			wantStatus(t, r, http.StatusTooManyRequests)
			checkPage(t, s, r, tt.lang, "verify.code.title")
			blockedSays(t, r, locked) // regression: a lock was shown under "please check the following"

			// Locked: the right code is refused too, and so is a new code by the same method.
			r = v.check(code)
			wantStatus(t, r, http.StatusTooManyRequests)
			blockedSays(t, r, locked)
			s.Clock.Advance(2 * time.Minute)
			r = v.post("/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}})
			wantStatus(t, r, http.StatusTooManyRequests)
			checkPage(t, s, r, tt.lang, "verify.title")
			blockedSays(t, r, tr.Tf("verify.err.locked.phone", map[string]any{"Time": clockTime(s, until), "Minutes": 13}))
			if userState(t, s, tt.user) != campaign.StateNotified {
				t.Error("a locked method verified the user")
			}
			if n := countEvents(t, s, tt.user, audit.VerifyFailed); n != 5 {
				t.Errorf("%d failures in the history, want 5", n)
			}
			if e, ok := lastEvent(t, s, tt.user, audit.VerifyLocked); !ok || e.Detail["method"] != "phone" || e.IP != "127.0.0.1" || e.UserAgent != testUA {
				t.Errorf("lock in the history: %+v, %v", e, ok)
			}

			// After the lockout, a new code works.
			s.Clock.Set(until)
			v.send("phone")
			s.Deliver(t)
			wantRedirect(t, v.check(s.LastCode(t, tt.to)), "/verify/done")
		})
	}
}

func TestVerifyCodeCheck_RefusesAnExpiredCode(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	zh := newVisitor(t, s, nil)
	zh.openNotice("demo-zh")
	zh.send("phone")
	en := newVisitor(t, s, nil)
	en.openNotice("demo-en")
	en.send("email")
	s.Deliver(t)

	s.Clock.Advance(s.Config.CodeTTL - time.Second)
	wantRedirect(t, en.check(s.LastCode(t, enEmail)), "/verify/done")

	s.Clock.Advance(time.Second)
	r := zh.check(s.LastCode(t, zhPhone))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	checkPage(t, s, r, i18n.Chinese, "verify.code.title")
	codeError(t, r, s.Catalog.For(i18n.Chinese).T("verify.err.expired"))
	if st := userState(t, s, "demo-zh"); st != campaign.StateNotified {
		t.Errorf("state %q after an expired code", st)
	}
	if e, ok := lastEvent(t, s, "demo-zh", audit.VerifyFailed); !ok || e.Detail["reason"] != "expired" || e.Detail["method"] != "phone" {
		t.Errorf("the history does not record the expired code: %+v", e)
	}
}

func TestVerifyCodeSend_ResendWaitsAMinuteAndVoidsTheOldCode(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tr := s.Catalog.For(i18n.English)
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.openNotice("demo-zh")
	v.send("phone")
	if n := deliveredTo(t, s, zhPhone); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	first := s.LastCode(t, zhPhone)
	resend := url.Values{"channel": {"phone"}, "resend": {"1"}}

	waitText := func(r *webtest.Response) string {
		return strings.TrimSpace(r.Doc.Find(".resend-wait").Text())
	}
	r := v.get("/verify/code")
	if got, want := waitText(r), tr.TN("verify.code.resend_in", 60, nil); got != want {
		t.Errorf("right after sending: %q, want %q", got, want)
	}
	if got := r.Doc.Find("button[data-resend-in]").AttrOr("data-resend-in", ""); got != "60" {
		t.Errorf("data-resend-in=%q, want 60", got)
	}

	// Pressed early (no JavaScript holds the button back): no code goes out; the page says how long.
	s.Clock.Advance(30 * time.Second)
	wantRedirect(t, v.post("/verify/code/send", resend), "/verify/code")
	r = v.get("/verify/code")
	if got, want := waitText(r), tr.TN("verify.code.resend_in", 30, nil); got != want {
		t.Errorf("after an early resend: %q, want %q", got, want)
	}
	if r.Doc.Find(".resend .alert-success").Length() != 0 {
		t.Error("an early resend says a new code was sent")
	}
	if n := deliveredTo(t, s, zhPhone); n != 0 {
		t.Errorf("an early resend delivered %d messages", n)
	}
	// Another channel has a wait of its own: in another browser of the same user, a code by email
	// goes out at once, as the page promises when an SMS is delayed.
	other := newVisitor(t, s, cookieLang(i18n.English))
	other.openNotice("demo-zh")
	wantRedirect(t, other.post("/verify/code/send", url.Values{"channel": {"email"}}), "/verify/code")
	if n := deliveredTo(t, s, zhEmail); n != 1 {
		t.Errorf("the email code within the SMS's minute: %d delivered, want 1", n)
	}

	s.Clock.Advance(30 * time.Second)
	wantRedirect(t, v.post("/verify/code/send", resend), "/verify/code")
	r = v.get("/verify/code")
	if got, want := strings.TrimSpace(r.Doc.Find(".resend .alert-success").Text()), tr.T("verify.code.resent"); got != want {
		t.Errorf("after a resend: %q, want %q", got, want)
	}
	if n := deliveredTo(t, s, zhPhone); n != 1 {
		t.Fatalf("the resend delivered %d messages", n)
	}
	second := s.LastCode(t, zhPhone)
	if second == first {
		t.Skip("two random codes happened to be equal")
	}
	r = v.check(first)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	codeError(t, r, tr.TN("verify.err.wrong", 4, nil))
	wantRedirect(t, v.check(second), "/verify/done")
}

func TestVerifyCodeSend_AtMostFiveCodesInAnHour(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	s.Clock.Advance(30 * time.Minute) // 10:30: the hour's sends reach past the clock hour
	first := s.Clock.Now()
	tr := s.Catalog.For(i18n.Chinese)
	v := newVisitor(t, s, nil)
	v.openNotice("demo-zh")
	for i := 1; i <= 5; i++ {
		wantRedirect(t, v.post("/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}}), "/verify/code")
		s.Clock.Advance(61 * time.Second)
	}
	if n := deliveredTo(t, s, zhPhone); n != 5 {
		t.Fatalf("delivered %d, want 5", n)
	}
	limit := tr.Tf("verify.err.send_limit", map[string]any{"Time": clockTime(s, first.Add(time.Hour))})
	for _, at := range []time.Time{s.Clock.Now(), first.Add(31 * time.Minute)} { // 10:35, and 11:01 in the next clock hour
		s.Clock.Set(at)
		r := v.post("/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}})
		wantStatus(t, r, http.StatusTooManyRequests)
		checkPage(t, s, r, i18n.Chinese, "verify.title")
		blockedSays(t, r, limit)
	}
	if n := deliveredTo(t, s, zhPhone); n != 0 {
		t.Errorf("a refused send delivered %d messages", n)
	}
	s.Clock.Set(first.Add(time.Hour))
	wantRedirect(t, v.post("/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}}), "/verify/code")
	s.Deliver(t)
	wantRedirect(t, v.check(s.LastCode(t, zhPhone)), "/verify/done")
}

// walkStep is what one request of a verification showed: its status, where it led, <main>, and
// the length of the session cookie after it (encrypted, but its length is plain to see).
type walkStep struct {
	name      string
	status    int
	location  string
	main      string
	cookieLen int
}

// walk goes through every verification step a stranger can take after looking up account and
// records what each step showed. codes gives the wrong and the right code to type, once the
// code has been delivered: the same strings for a known and an unknown account, since the form
// shows what was typed.
func walk(t *testing.T, s *webtest.Server, account string, header http.Header, codes func() (wrong, right string)) []walkStep {
	t.Helper()
	v := newVisitor(t, s, header)
	var steps []walkStep
	record := func(name string, r *webtest.Response) {
		html, _ := r.Doc.Find("main").Html()
		if r.Doc.Find("main").Length() == 0 { // an htmx fragment
			html = string(r.Body)
		}
		steps = append(steps, walkStep{name, r.StatusCode, r.Header.Get("Location"), html, len(v.cookie())})
	}
	record("find", v.post("/find", url.Values{"account": {account}}))
	record("choose", v.get("/verify"))
	record("send phone", v.post("/verify/code/send", url.Values{"channel": {"phone"}}))
	record("code page", v.get("/verify/code"))
	s.Deliver(t)
	wrong, right := codes()
	record("code page after delivery", v.get("/verify/code"))
	record("send email too soon", v.post("/verify/code/send", url.Values{"channel": {"email"}}))
	record("resend too soon", v.post("/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}}))
	record("empty code", v.check(""))
	record("malformed code", v.check("12ab"))
	for i := 1; i <= 4; i++ {
		record(fmt.Sprintf("wrong code %d", i), v.check(wrong))
	}
	record("htmx wrong code 5", s.PostForm(t, v.c, "/verify/code/check", url.Values{"code": {wrong}}, v.with(http.Header{"HX-Request": {"true"}})))
	record("right code while locked", v.check(right))
	record("send phone while locked", v.post("/verify/code/send", url.Values{"channel": {"phone"}}))
	record("knowledge page", v.get("/verify/knowledge"))
	record("knowledge wrong", v.post("/verify/knowledge", url.Values{"phone": {"138 0013 8001"}, "last4": {"0000"}}))
	record("assist page", v.get("/verify/assist"))
	record("assist wrong", v.post("/verify/assist", url.Values{"code": {"1234-5678"}}))
	s.Clock.Advance(2 * time.Minute)
	record("send email", v.post("/verify/code/send", url.Values{"channel": {"email"}}))
	record("email code page", v.get("/verify/code"))
	return steps
}

// firstDifference shows where two texts part, with some context, or says they are equal.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return "equal"
	}
	from := max(0, i-60)
	return fmt.Sprintf("differs at byte %d:\n  known:   …%.160s\n  unknown: …%.160s", i, a[from:], b[from:])
}

func stepNamed(steps []walkStep, name string) walkStep {
	for _, st := range steps {
		if st.name == name {
			return st
		}
	}
	return walkStep{}
}

func TestVerify_AnUnknownAccountLooksExactlyLikeAKnownOne(t *testing.T) {
	failing := webtest.WithDelivery(webtest.DeliveryOptions{SMS: failingGateway{}})
	tests := []struct {
		name           string
		known, unknown string
		to             string // where the known account's code goes; "" when none arrives
		opts           []webtest.ServerOption
	}{
		{"phone number", "+86 138-0013-8001", "+86 138-0013-8009", zhPhone, nil},
		{"account ID", "demo-en", "demo-xx", enPhone, nil},
		{"past the deadline", "138 0013 8003", "138 0013 8008", "", nil},
		{"SMS could not be sent", "+86 138-0013-8001", "+86 138-0013-8009", "", []webtest.ServerOption{failing}},
	}
	for _, tt := range tests {
		for _, lang := range i18n.Languages {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				s := webtest.NewServer(t, append([]webtest.ServerOption{withDelivery()}, tt.opts...)...)
				start := s.Clock.Now()
				wrong, right := "000000", "123456"
				known := walk(t, s, tt.known, cookieLang(lang), func() (string, string) {
					if tt.to != "" {
						right = s.LastCode(t, tt.to)
						wrong = wrongOf(right)
					} else if n := len(s.Devbox.List()); n != 0 {
						t.Errorf("%d messages delivered, want none", n)
					}
					return wrong, right
				})
				s.Clock.Set(start)
				unknown := walk(t, s, tt.unknown, cookieLang(lang), func() (string, string) { return wrong, right })
				for i := range known {
					k, u := known[i], unknown[i]
					if k.status != u.status || k.location != u.location || k.main != u.main {
						t.Errorf("%s: known account answers %d %q, unknown %d %q; <main> %s",
							k.name, k.status, k.location, u.status, u.location, firstDifference(k.main, u.main))
					}
					if k.cookieLen != u.cookieLen {
						t.Errorf("%s: the session cookie is %d bytes for a known account, %d for an unknown one", k.name, k.cookieLen, u.cookieLen)
					}
				}
				// The walk did count down to the lock, in the page language.
				tr := s.Catalog.For(lang)
				if st := stepNamed(known, "wrong code 4"); st.status != http.StatusUnprocessableEntity || !strings.Contains(st.main, tr.TN("verify.err.wrong", 1, nil)) {
					t.Errorf("the fourth wrong code answers %d without saying one attempt is left", st.status)
				}
				if st := stepNamed(known, "htmx wrong code 5"); st.status != http.StatusTooManyRequests {
					t.Errorf("the fifth wrong code answers %d, want 429", st.status)
				}
			})
		}
	}
}

// failingGateway refuses every text message in a way retrying cannot cure.
type failingGateway struct{}

func (failingGateway) Send(context.Context, sms.Message) error {
	return permanentError{errors.New("gateway: number refused")}
}

type permanentError struct{ error }

func (permanentError) Permanent() bool { return true }

func TestVerifyCode_SaysWhenTheCodeCouldNotBeSent(t *testing.T) {
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMS: failingGateway{}}))
	v := newVisitor(t, s, nil)
	v.openNotice("demo-zh")
	v.send("phone")
	r := v.get("/verify/code")
	if r.Doc.Find(".alert-error").Length() != 0 {
		t.Fatal("the code page reports a failure before any delivery was tried")
	}
	if n := deliveredTo(t, s, zhPhone); n != 0 {
		t.Fatalf("delivered %d through a failing gateway", n)
	}
	items, err := s.Store.RecentOutbox(context.Background(), 1)
	if err != nil || len(items) != 1 || items[0].Status != store.OutboxFailed {
		t.Fatalf("outbox = %+v, %v; want the message failed", items, err)
	}
	for _, lang := range i18n.Languages {
		v.h.Set("Cookie", "lang="+lang)
		r = v.get("/verify/code")
		checkPage(t, s, r, lang, "verify.code.title")
		alert := r.Doc.Find(`main .alert-error[role="alert"]`)
		if got, want := strings.TrimSpace(alert.Find("p").First().Text()), s.Catalog.For(lang).T("verify.code.delivery_failed"); got != want {
			t.Errorf("%s: alert %q, want %q", lang, got, want)
		}
		if alert.Find(`a[href="/verify"]`).Length() == 0 {
			t.Errorf("%s: the alert offers no other method", lang)
		}
		sent := s.Catalog.For(lang).Tf("verify.code.sent_phone_masked", map[string]any{"Target": phone.Mask(zhPhone)})
		if strings.Contains(mainText(r.Doc), sent) {
			t.Errorf("%s: the page says both that the code could not be sent and %q", lang, sent)
		}
	}
	// Email still works, and its page has no failure to report.
	s.Clock.Advance(time.Minute)
	v.send("email")
	if r := v.get("/verify/code"); r.Doc.Find(".alert-error").Length() != 0 {
		t.Error("the email code page reports the SMS failure")
	}
	s.Deliver(t)
	wantRedirect(t, v.check(s.LastCode(t, zhEmail)), "/verify/done")
}

// flakyGateway answers 500 while down, as a gateway in trouble does: worth another attempt.
type flakyGateway struct {
	mu   sync.Mutex
	down bool
}

func (g *flakyGateway) Send(context.Context, sms.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return errors.New("sms gateway answered 500 Internal Server Error")
	}
	return nil
}

// After the first failed attempt at the newest code, the page says at once that the code is
// delayed and offers the other methods, and no longer says that the code was sent; once it goes
// out, the page says so again.
func TestVerifyCode_SaysTheCodeIsDelayedAfterOneFailedAttempt(t *testing.T) {
	g := &flakyGateway{down: true}
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMS: g}))
	v := newVisitor(t, s, nil)
	v.openNotice("demo-zh")
	v.send("phone")
	if r := v.get("/verify/code"); r.Doc.Find(".alert-warning[role=status]").Length() != 0 {
		t.Fatal("delayed before any attempt")
	}
	s.Deliver(t) // one attempt, answered 500: retried in 5 s
	for _, lang := range i18n.Languages {
		tr := s.Catalog.For(lang)
		v.h.Set("Cookie", "lang="+lang)
		r := v.get("/verify/code")
		checkPage(t, s, r, lang, "verify.code.title")
		alert := r.Doc.Find(`main .alert-warning[role="status"]`)
		if got, want := strings.TrimSpace(alert.Find("p").First().Text()), tr.T("verify.code.delivery_delayed"); got != want {
			t.Errorf("%s: alert %q, want %q", lang, got, want)
		}
		if alert.Find(`a[href="/verify"]`).Length() != 1 {
			t.Errorf("%s: the alert offers no other method", lang)
		}
		target := phone.Mask(zhPhone)
		if sent := tr.Tf("verify.code.sent_phone_masked", map[string]any{"Target": target}); strings.Contains(mainText(r.Doc), sent) {
			t.Errorf("%s: a delayed code is said to be sent: %q", lang, sent)
		}
		if sending := tr.Tf("verify.code.sending_phone_masked", map[string]any{"Target": target}); !strings.Contains(mainText(r.Doc), sending) {
			t.Errorf("%s: the page does not say %q", lang, sending)
		}
		if r.Doc.Find(".alert-error").Length() != 0 {
			t.Errorf("%s: a delayed code is reported as failed", lang)
		}
	}
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
	s.Clock.Advance(10 * time.Second)
	if n := s.Deliver(t); n != 1 {
		t.Fatalf("delivered %d after the gateway recovered", n)
	}
	v.h.Set("Cookie", "lang="+i18n.English)
	r := v.get("/verify/code")
	if r.Doc.Find(".alert-warning[role=status], .alert-error").Length() != 0 {
		t.Error("the page still reports trouble after the code went out")
	}
	if sent := s.Catalog.For(i18n.English).Tf("verify.code.sent_phone_masked", map[string]any{"Target": phone.Mask(zhPhone)}); !strings.Contains(mainText(r.Doc), sent) {
		t.Errorf("the page does not say %q", sent)
	}
}

// The code page's status block asks, while the code is on its way, whether its state changed:
// 204 while it has not, the block anew when it has, and no more asking once the code went out.
func TestVerifyCode_StatusBlockFollowsTheDelivery(t *testing.T) {
	g := &flakyGateway{down: true}
	s := webtest.NewServer(t, webtest.WithDelivery(webtest.DeliveryOptions{SMS: g}))
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.openNotice("demo-zh")
	v.send("phone")
	htmx := v.with(http.Header{"HX-Request": {"true"}})
	poll := func(seen string) *webtest.Response {
		t.Helper()
		return s.Get(t, v.c, "/verify/code/delivery?seen="+seen, htmx)
	}
	block := v.get("/verify/code").Doc.Find("#delivery")
	if got, _ := block.Attr("data-hx-get"); got != "/verify/code/delivery?seen=pending" || block.AttrOr("data-hx-trigger", "") != "every 3s" {
		t.Fatalf("status block while pending: hx-get %q trigger %q", got, block.AttrOr("data-hx-trigger", ""))
	}
	if r := poll("pending"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("poll while unchanged: %d, want 204", r.StatusCode)
	}
	s.Deliver(t) // the gateway answers 500
	r := poll("pending")
	wantStatus(t, r, http.StatusOK)
	delayed := r.Doc.Find("#delivery")
	if delayed.Find(`.alert-warning[role="status"] a[href="/verify"]`).Length() != 1 || delayed.AttrOr("data-hx-get", "") != "/verify/code/delivery?seen=delayed" {
		t.Fatalf("block after a failed attempt: %s", r.Body)
	}
	if r.Doc.Find("main, h1").Length() != 0 {
		t.Errorf("the block came with the layout: %s", r.Body)
	}
	if r := poll("delayed"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("poll while still delayed: %d, want 204", r.StatusCode)
	}
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
	s.Clock.Advance(10 * time.Second)
	s.Deliver(t)
	r = poll("delayed")
	wantStatus(t, r, http.StatusOK)
	if sent := r.Doc.Find("#delivery"); sent.AttrOr("data-hx-get", "") != "" || sent.Find(".alert-warning, .alert-error").Length() != 0 {
		t.Errorf("block once sent: %s", r.Body)
	}
	// Outside htmx the address leads to the page.
	if r := v.get("/verify/code/delivery?seen=sent"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/verify/code" {
		t.Errorf("plain GET: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestVerifyChoose_AfterTheDeadlinePhoneIsClosedAndOthersOffered(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			tr := s.Catalog.For(lang)
			v := newVisitor(t, s, cookieLang(lang))
			v.openNotice("demo-late")
			r := v.get("/verify")
			wantStatus(t, r, http.StatusOK)
			checkPage(t, s, r, lang, "verify.title")
			if !strings.Contains(mainText(r.Doc), tr.T("verify.phone.closed")) {
				t.Error("the phone method does not say it is closed")
			}
			if r.Doc.Find(`input[name="channel"][value="phone"]`).Length() != 0 {
				t.Error("the phone method still offers to send a code")
			}
			if r.Doc.Find(`form[action="/verify/code/send"] input[name="channel"][value="email"]`).Length() != 1 {
				t.Error("no email method")
			}
			for _, href := range []string{"/verify/knowledge", "/verify/assist"} {
				if r.Doc.Find(`main a[href="`+href+`"]`).Length() != 1 {
					t.Errorf("no link to %s", href)
				}
			}
			// A hand-made post is refused with the same words.
			r = v.post("/verify/code/send", url.Values{"channel": {"phone"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			if got := strings.TrimSpace(r.Doc.Find("#error-summary").Text()); got != tr.T("verify.phone.closed") {
				t.Errorf("phone send after the deadline: %q", got)
			}
			if n := deliveredTo(t, s, latePhone); n != 0 {
				t.Errorf("%d messages sent after the deadline", n)
			}
		})
	}
	v := newVisitor(t, s, nil)
	v.openNotice("demo-late")
	v.send("email")
	s.Deliver(t)
	wantRedirect(t, v.check(s.LastCode(t, lateEmail)), "/verify/done")
	wantVerified(t, s, "demo-late", "email")
}

func TestVerifyKnowledge_RightAnswerShowsDetailsThenACodeFinishes(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tr := s.Catalog.For(i18n.Chinese)
	v := newVisitor(t, s, nil)
	v.lookUp("demo-zh")
	r := v.get("/verify/knowledge")
	wantStatus(t, r, http.StatusOK)
	checkPage(t, s, r, i18n.Chinese, "verify.knowledge.title")
	if !strings.Contains(mainText(r.Doc), tr.T("verify.knowledge.needs_code")) {
		t.Error("the page does not say a code must follow")
	}

	tests := []struct {
		phone, last4 string
		errs         map[string]string
	}{
		{"", "", map[string]string{"phone": tr.T("verify.err.phone_required"), "last4": tr.T("verify.err.last4_invalid")}},
		{"12345", "123X", map[string]string{"phone": tr.T("verify.err.phone_invalid")}},
		{"+86 138 0013 8001", "12", map[string]string{"last4": tr.T("verify.err.last4_invalid")}},
	}
	for _, tt := range tests {
		r := v.post("/verify/knowledge", url.Values{"phone": {tt.phone}, "last4": {tt.last4}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		checkPage(t, s, r, i18n.Chinese, "verify.knowledge.title")
		for field, want := range tt.errs {
			if got := strings.TrimSpace(r.Doc.Find("#" + field + "-error").Text()); got != want {
				t.Errorf("%q/%q: %s says %q, want %q", tt.phone, tt.last4, field, got, want)
			}
			if r.Doc.Find("input#"+field).AttrOr("aria-invalid", "") != "true" {
				t.Errorf("%q/%q: %s not marked invalid", tt.phone, tt.last4, field)
			}
		}
		if got := r.Doc.Find("#error-summary li").Length(); got != len(tt.errs) {
			t.Errorf("%q/%q: %d errors in the summary, want %d", tt.phone, tt.last4, got, len(tt.errs))
		}
	}
	if n := countEvents(t, s, "demo-zh", audit.VerifyFailed); n != 0 {
		t.Errorf("malformed answers counted as %d failures", n)
	}

	// A wrong answer counts against the method, in words about the details, not a code.
	r = v.post("/verify/knowledge", url.Values{"phone": {"+86 138 0013 8001"}, "last4": {"1234"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if got, want := strings.TrimSpace(r.Doc.Find("#error-summary li").Text()), tr.TN("verify.err.knowledge_wrong", 4, nil); got != want {
		t.Errorf("wrong answer: %q, want %q", got, want)
	}
	if e, ok := lastEvent(t, s, "demo-zh", audit.VerifyFailed); !ok || e.Detail["method"] != "knowledge" {
		t.Errorf("the history does not record the wrong answer: %+v", e)
	}

	r = v.post("/verify/knowledge", url.Values{"phone": {"138-0013-8001"}, "last4": {"123x"}})
	wantRedirect(t, r, "/verify")
	r = v.get("/verify")
	checkPage(t, s, r, i18n.Chinese, "verify.title")
	text := mainText(r.Doc)
	for _, want := range []string{tr.T("verify.knowledge.passed"), phone.Mask(zhPhone), campaign.MaskEmail(zhEmail)} {
		if !strings.Contains(text, want) {
			t.Errorf("after the knowledge check the method list lacks %q", want)
		}
	}
	if r.Doc.Find(`main a[href="/verify/knowledge"]`).Length() != 0 {
		t.Error("the knowledge check is offered again")
	}
	if userState(t, s, "demo-zh") != campaign.StateNotified {
		t.Error("the knowledge check alone verified the user")
	}
	if _, ok := lastEvent(t, s, "demo-zh", audit.VerifyKnowledgePassed); !ok {
		t.Error("no knowledge_passed in the history")
	}
	v.send("phone")
	s.Deliver(t)
	wantRedirect(t, v.check(s.LastCode(t, zhPhone)), "/verify/done")
	wantVerified(t, s, "demo-zh", "phone")
}

func TestVerifyKnowledge_FiveWrongAnswersLock(t *testing.T) {
	s := webtest.NewServer(t)
	tr := s.Catalog.For(i18n.English)
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.lookUp("+86 138 0013 8002")
	answer := url.Values{"phone": {"138 0013 8002"}, "last4": {"4568"}}
	for left := 4; left >= 1; left-- {
		r := v.post("/verify/knowledge", answer)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if got, want := strings.TrimSpace(r.Doc.Find("#phone-error").Text()), tr.TN("verify.err.knowledge_wrong", left, nil); got != want {
			t.Errorf("%d left: %q, want %q", left, got, want)
		}
	}
	locked := tr.Tf("verify.err.locked.knowledge", map[string]any{"Time": clockTime(s, s.Clock.Now().Add(15*time.Minute)), "Minutes": 15})
	for _, last4 := range []string{"4568", "4567"} { // the fifth wrong one, then even the right one
		r := v.post("/verify/knowledge", url.Values{"phone": {"138 0013 8002"}, "last4": {last4}})
		wantStatus(t, r, http.StatusTooManyRequests)
		blockedSays(t, r, locked)
	}
}

func TestVerifyKnowledge_AloneSufficesWhenConfigured(t *testing.T) {
	s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.KnowledgeSuffices = true }))
	v := newVisitor(t, s, nil)
	v.lookUp("demo-zh")
	r := v.get("/verify/knowledge")
	if strings.Contains(mainText(r.Doc), s.Catalog.For(i18n.Chinese).T("verify.knowledge.needs_code")) {
		t.Error("the page says a code must follow")
	}
	wantRedirect(t, v.post("/verify/knowledge", url.Values{"phone": {"+8613800138001"}, "last4": {"123X"}}), "/verify/done")
	wantVerified(t, s, "demo-zh", "knowledge")
}

func TestVerifyAssist_CodeFromSupportVerifiesOnce(t *testing.T) {
	s := webtest.NewServer(t)
	// Support issues the code as `smsretire assist-code demo-en` does, with the services that
	// internal/app builds (internal/app's tests show a second App accepts it).
	code, _, err := s.App.Identity.IssueAssistCode(context.Background(), "demo-en", "support:test", audit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	tr := s.Catalog.For(i18n.English)
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.lookUp("138 0013 8002")
	r := v.get("/verify/assist")
	wantStatus(t, r, http.StatusOK)
	checkPage(t, s, r, i18n.English, "verify.assist.title")

	r = v.post("/verify/assist", url.Values{"code": {"1234"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	checkPage(t, s, r, i18n.English, "verify.assist.title")
	codeError(t, r, tr.T("verify.err.assist_format"))

	wrong := "12345678"
	if code == wrong {
		wrong = "87654321"
	}
	r = v.post("/verify/assist", url.Values{"code": {wrong}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	codeError(t, r, tr.TN("verify.err.wrong", 4, nil))

	wantRedirect(t, v.post("/verify/assist", url.Values{"code": {code[:4] + "-" + code[4:]}}), "/verify/done")
	wantVerified(t, s, "demo-en", "assist")

	again := newVisitor(t, s, cookieLang(i18n.English))
	again.lookUp("demo-en")
	r = again.post("/verify/assist", url.Values{"code": {code}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if userState(t, s, "demo-en") != campaign.StateVerified || countEvents(t, s, "demo-en", audit.VerifySucceeded) != 1 {
		t.Error("the assist code verified twice")
	}
}

func TestVerifyCodeCheck_HTMXGetsTheFormFragmentOrARedirect(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	tr := s.Catalog.For(i18n.English)
	v := newVisitor(t, s, cookieLang(i18n.English))
	v.openNotice("demo-zh")
	v.send("phone")
	s.Deliver(t)
	code := s.LastCode(t, zhPhone)
	htmx := v.with(http.Header{"HX-Request": {"true"}})

	r := s.PostForm(t, v.c, "/verify/code/check", url.Values{"code": {wrongOf(code)}}, htmx)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	body := string(r.Body)
	if strings.Contains(body, "<html") || strings.Contains(body, "<main") || strings.Contains(body, "<h1") {
		t.Errorf("htmx got a whole page: %.200s", body)
	}
	form := r.Doc.Find("form#code-form")
	if form.Length() != 1 || form.AttrOr("data-hx-post", "") != "/verify/code/check" || form.AttrOr("action", "") != "/verify/code/check" {
		t.Fatalf("no code form to swap in: %s", body)
	}
	codeError(t, r, tr.TN("verify.err.wrong", 4, nil))
	if !strings.Contains(r.Header.Get("Vary"), "HX-Request") {
		t.Errorf("Vary %q does not name HX-Request", r.Header.Get("Vary"))
	}

	before := v.cookie()
	r = s.PostForm(t, v.c, "/verify/code/check", url.Values{"code": {code}}, htmx)
	wantStatus(t, r, http.StatusOK)
	if got := r.Header.Get("HX-Redirect"); got != "/verify/done" {
		t.Fatalf("HX-Redirect %q, want /verify/done", got)
	}
	if v.cookie() == before {
		t.Error("the session was not renewed")
	}
	wantStatus(t, v.get("/verify/done"), http.StatusOK)
}

func TestVerify_CrossSitePostsAreRefused(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	v := newVisitor(t, s, nil)
	v.openNotice("demo-zh")
	v.send("phone")
	s.Deliver(t)
	code := s.LastCode(t, zhPhone)
	s.Clock.Advance(2 * time.Minute)
	crossSite := v.with(http.Header{"Sec-Fetch-Site": {"cross-site"}})
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/verify/code/check", url.Values{"code": {code}}},
		{"/verify/code/send", url.Values{"channel": {"email"}}},
		{"/verify/knowledge", url.Values{"phone": {zhPhone}, "last4": {"123X"}}},
		{"/verify/assist", url.Values{"code": {"12345678"}}},
	} {
		r := s.PostForm(t, v.c, p.path, p.form, crossSite)
		wantStatus(t, r, http.StatusForbidden)
		checkPage(t, s, r, i18n.Chinese, "error.forbidden.title")
		if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s: a refused post set cookies", p.path)
		}
	}
	if n := deliveredTo(t, s, zhEmail); n != 0 {
		t.Errorf("a cross-site post sent %d messages", n)
	}
	if st := userState(t, s, "demo-zh"); st != campaign.StateNotified {
		t.Errorf("a cross-site post changed the state to %q", st)
	}
	if n := countEvents(t, s, "demo-zh", audit.VerifyFailed); n != 0 {
		t.Errorf("a cross-site post counted %d failures", n)
	}
	wantRedirect(t, v.check(code), "/verify/done")
}

func TestVerify_StepsNeedAnAccountAndAChannel(t *testing.T) {
	s := webtest.NewServer(t)
	v := newVisitor(t, s, nil)
	for _, path := range []string{"/verify", "/verify/code", "/verify/knowledge", "/verify/assist", "/verify/done"} {
		wantRedirect(t, v.get(path), "/")
	}
	wantRedirect(t, v.check("123456"), "/")
	wantRedirect(t, v.post("/verify/code/send", url.Values{"channel": {"phone"}}), "/")

	v.openNotice("demo-zh")
	wantRedirect(t, v.get("/verify/code"), "/verify")
	wantRedirect(t, v.check("123456"), "/verify")
	r := v.post("/verify/code/send", url.Values{"channel": {"pigeon"}})
	wantStatus(t, r, http.StatusBadRequest)
}

func TestVerifyCodeCheck_RefusesAClientThatGuessesAcrossAccounts(t *testing.T) {
	s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.ClientAttemptsHour = 3 }))
	tr := s.Catalog.For(i18n.Chinese)
	v := newVisitor(t, s, nil)
	for i, account := range []string{"13900000001", "13900000002", "13900000003", "13900000004"} {
		v.lookUp(account)
		v.send("phone")
		r := v.check("123456")
		if i < 3 {
			wantStatus(t, r, http.StatusUnprocessableEntity)
			codeError(t, r, tr.TN("verify.err.wrong", 4, nil))
			continue
		}
		wantStatus(t, r, http.StatusTooManyRequests)
		blockedSays(t, r, tr.Tf("verify.err.client_limited", map[string]any{"Time": "11:00"}))
	}
}

// From the request to the code's delivery, neither the payload's "secret" member nor the code as
// a JSON string is ever written to the database file or its write-ahead log: the store seals it
// before the row is written.
func TestVerifyCode_TheCodeNeverReachesTheDatabaseInPlaintext(t *testing.T) {
	s := webtest.NewServer(t, withDelivery())
	scan := testsupport.StartDiskScan(t, s.Store)
	v := newVisitor(t, s, nil)
	v.openNotice("demo-zh")
	v.send("phone")
	if where := scan.Find(`"secret"`); len(where) != 0 {
		t.Fatalf("a payload with its secret was written: %v", where)
	}
	s.Deliver(t)
	code := s.LastCode(t, zhPhone)
	if where := scan.Find(`"` + code + `"`); len(where) != 0 {
		t.Errorf("the code %s is on disk in %v", code, where)
	}
	if where := scan.Find(zhPhone); len(where) == 0 {
		t.Fatal("the scan does not even find the recipient: it reads nothing")
	}
	wantRedirect(t, v.check(code), "/verify/done")
}
