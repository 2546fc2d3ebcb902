package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// atOnce is how many requests a burst sends at once.
const atOnce = 60

// postAtOnce posts form to path n times at once from one browser (one cookie jar), to the
// servers at bases in turn, as a script behind a load balancer would, and returns the statuses.
func postAtOnce(t *testing.T, client *http.Client, bases []string, path string, form url.Values, n int) []int {
	t.Helper()
	statuses := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest(http.MethodPost, bases[i%len(bases)]+path, strings.NewReader(form.Encode()))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return statuses
}

func countStatus(statuses []int, status int) int {
	n := 0
	for _, s := range statuses {
		if s == status {
			n++
		}
	}
	return n
}

// Sixty "send me a code" posts at once from one browser send one code; one a minute follows,
// and five in the hour.
func TestVerifyCodeSend_ParallelPostsSendOneCodeAMinuteAndFiveAnHour(t *testing.T) {
	srv := fastServer(t)
	v := newVisitor(t, srv, nil)
	v.openNotice("demo-zh")
	for round := 1; round <= 6; round++ {
		statuses := postAtOnce(t, v.c, []string{srv.URL}, "/verify/code/send", url.Values{"channel": {"phone"}}, atOnce)
		want := min(round, 5)
		if got := outboxTopics(t, srv.Store, "demo-zh")["verify.code"]; got != want {
			t.Errorf("round %d: %d codes sent in all, want %d", round, got, want)
		}
		// The one that sent leads to the code form; the others are told to wait, or, once the
		// browser's cookie says a code is on its way, led to its form too. Nothing fails.
		if ok := countStatus(statuses, http.StatusSeeOther) + countStatus(statuses, http.StatusTooManyRequests); ok != atOnce {
			t.Errorf("round %d: %d posts answered other than 303 or 429: %v", round, atOnce-ok, statuses)
		}
		srv.Clock.Advance(61 * time.Second)
	}
}

// Two instances on one PostgreSQL, sixty posts at once alternating between them, as the issue
// measured it: one text message a minute, five in the hour; then sixty wrong codes at once are
// checked five times, and the right code after the lock is refused.
func TestTwoInstances_ParallelSendsAndGuessesHoldTheLimits(t *testing.T) {
	ctx := context.Background()
	sa, sb := testsupport.PostgresPair(t)
	keys, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(webtest.Now)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if _, err := demo.Seed(ctx, sa, clk.Now(), loc, campaign.NewIDHasher(keys.Hash)); err != nil {
		t.Fatal(err)
	}
	gateway := &capturedSMS{}
	a := startInstance(t, sa, keys, clk, "http://127.0.0.1:8080", gateway)
	b := startInstance(t, sb, keys, clk, "http://127.0.0.1:8080", gateway)
	signer, err := campaign.NewNoticeSigner(keys.Token)
	if err != nil {
		t.Fatal(err)
	}
	browser := a.Client()
	a.Get(t, browser, "/notice/"+signer.Sign("demo-zh", clk.Now().Add(time.Hour)), nil)
	bases := []string{a.URL, b.URL}
	deliver := func() {
		for _, srv := range []*instance{a, b} {
			if _, err := srv.worker.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := 1; round <= 6; round++ {
		postAtOnce(t, browser, bases, "/verify/code/send", url.Values{"channel": {"phone"}}, atOnce)
		deliver()
		if got, want := len(gateway.messages()), min(round, 5); got != want {
			t.Errorf("round %d: %d text messages sent in all, want %d", round, got, want)
		}
		clk.Advance(61 * time.Second)
	}
	msgs := gateway.messages()
	right := webtest.CodeIn(msgs[len(msgs)-1].Text)
	wrong := wrongOf(right)

	statuses := postAtOnce(t, browser, bases, "/verify/code/check", url.Values{"code": {wrong}}, atOnce)
	evs, err := sa.Events(ctx, "demo-zh", 1000)
	if err != nil {
		t.Fatal(err)
	}
	failed, locks := 0, 0
	for _, e := range evs {
		switch e.Type {
		case audit.VerifyFailed:
			failed++
		case audit.VerifyLocked:
			locks++
		}
	}
	if failed != 5 || locks != 1 || countStatus(statuses, http.StatusUnprocessableEntity) != 4 || countStatus(statuses, http.StatusTooManyRequests) != atOnce-4 {
		t.Errorf("%d wrong codes checked and %d locks; %d answered 422 and %d 429, want 5, 1, 4 and %d", failed, locks,
			countStatus(statuses, http.StatusUnprocessableEntity), countStatus(statuses, http.StatusTooManyRequests), atOnce-4)
	}
	r := b.PostForm(t, browser, "/verify/code/check", url.Values{"code": {right}}, nil)
	if r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right code after the lock: %d, want 429", r.StatusCode)
	}
}

// enrolledWithRecovery verifies a user, enrolls an authenticator app and returns its secret and
// one of the recovery codes shown after it.
func enrolledWithRecovery(t *testing.T, srv *webtest.Server, userID string) (secret, recoveryCode string) {
	t.Helper()
	c := verifiedClient(t, srv, userID)
	secret = secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enroll: %d", r.StatusCode)
	}
	recoveryCode = strings.TrimSpace(srv.Get(t, c, "/enroll/recovery", nil).Doc.Find(".recovery-codes code").First().Text())
	if recoveryCode == "" {
		t.Fatal("no recovery code shown")
	}
	return secret, recoveryCode
}

// Someone who knows the account locks its authenticator app with five wrong codes. The page says
// until when and which ways still work, in the page language; a recovery code signs the user in
// and ends the lock. An unknown account locks alike.
func TestSignInTOTP_LockSaysWhatStillWorksAndAnotherWayEndsIt(t *testing.T) {
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			srv := fastServer(t)
			tr := srv.Catalog.For(lang)
			secret, recoveryCode := enrolledWithRecovery(t, srv, "demo-zh")
			srv.Clock.Advance(30 * time.Second)
			right, _ := totp.CodeAt(secret, srv.Clock.Now())
			wrong := wrongOf(right)
			lockOut := func(account string) *webtest.Response {
				t.Helper()
				stranger := srv.Client()
				var r *webtest.Response
				for i := 1; i <= 5; i++ {
					r = srv.PostForm(t, stranger, "/signin/totp", url.Values{"account": {account}, "code": {wrong}}, cookieLang(lang))
					if i < 5 && r.StatusCode != http.StatusUnprocessableEntity {
						t.Fatalf("wrong code %d: %d", i, r.StatusCode)
					}
				}
				return r
			}
			known, unknown := lockOut("demo-zh"), lockOut("nobody-here")
			if known.StatusCode != http.StatusTooManyRequests || known.StatusCode != unknown.StatusCode ||
				known.Doc.Find("#blocked").Text() == "" || known.Doc.Find("#blocked").Text() != unknown.Doc.Find("#blocked").Text() {
				t.Errorf("the fifth wrong code: known account %d %q, unknown %d %q", known.StatusCode, known.Doc.Find("#blocked").Text(),
					unknown.StatusCode, unknown.Doc.Find("#blocked").Text())
			}

			user := srv.Client()
			r := srv.PostForm(t, user, "/signin/totp", url.Values{"account": {"demo-zh"}, "code": {right}}, cookieLang(lang))
			until := srv.Clock.Now().Add(srv.Config.LockoutDuration).In(srv.Config.Location()).Format("15:04")
			want := tr.Tf("signin.err.locked.totp", map[string]any{"Time": until, "Minutes": 15})
			if r.StatusCode != http.StatusTooManyRequests || strings.TrimSpace(r.Doc.Find("#blocked p").Text()) != want {
				t.Fatalf("the right code while locked: %d %q, want 429 saying %q", r.StatusCode, r.Doc.Find("#blocked").Text(), want)
			}
			// A pause is news, not a mistake in a field: no error summary "please check the following".
			if r.Doc.Find("#error-summary").Length() != 0 || r.Doc.Find("[aria-invalid]").Length() != 0 {
				t.Errorf("a locked way is shown as an input error: %q", r.Doc.Find("#error-summary").Text())
			}
			if got := strings.TrimSpace(r.Doc.Find("#blocked h2").Text()); got != tr.T("blocked.title") {
				t.Errorf("the pause is headed %q, want %q", got, tr.T("blocked.title"))
			}
			r = srv.PostForm(t, user, "/signin/recovery", url.Values{"account": {"demo-zh"}, "code": {recoveryCode}}, cookieLang(lang))
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("recovery code while the app is locked: %d %s", r.StatusCode, r.Doc.Find("#error-summary").Text())
			}
			signIn(t, srv, "demo-zh", secret) // the lock ended with the recovery code sign-in
		})
	}
}
