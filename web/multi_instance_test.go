package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// capturedSMS is an SMS gateway that keeps what it was given, shared by both instances' workers.
type capturedSMS struct {
	mu   sync.Mutex
	sent []sms.Message
}

func (c *capturedSMS) Send(_ context.Context, m sms.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

func (c *capturedSMS) messages() []sms.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sms.Message(nil), c.sent...)
}

type discardMail struct{}

func (discardMail) Send(context.Context, mail.Message) error { return nil }

// instance is one smsretire process of a deployment: its own store handle, server and outbox
// worker, on the database, keys and clock the deployment shares.
type instance struct {
	*webtest.Server
	worker *outbox.Worker
}

// startInstance serves the portal as `smsretire serve` would, from a store that it opens and
// has already migrated.
func startInstance(t *testing.T, st *store.SQL, keys keyring.Keys, clk *clock.Fake, baseURL string, gateway sms.Gateway) *instance {
	t.Helper()
	srv := webtest.NewServer(t, webtest.WithStore(st), webtest.WithKeys(keys), webtest.WithClock(clk), webtest.WithoutDemoUsers(),
		webtest.WithConfig(func(c *config.Config) { c.BaseURL, c.MinSendTime, c.Demo = baseURL, 0, false }),
		webtest.WithDelivery(webtest.DeliveryOptions{SMS: gateway}),
		webtest.WithParts(func(p *app.Parts) { p.Mail, p.Logger = discardMail{}, slog.New(slog.NewTextHandler(io.Discard, nil)) }))
	return &instance{Server: srv, worker: srv.Outbox}
}

// Two instances behind a load balancer, on one PostgreSQL database, carry one user from the
// notice to a retired SMS with every request going to the other instance than the one before:
// sessions, codes, the TOTP ceremony and the outbox hold across both, since nothing lives in one
// process's memory.
func TestTwoInstances_OneJourneyAlternatingBetweenThem(t *testing.T) {
	ctx := context.Background()
	db := testsupport.PostgresDatabase(t)

	// Both instances start together and migrate the same, empty database at once: the advisory
	// lock lets one apply the migrations while the other waits and then finds nothing to do.
	stores := make([]*store.SQL, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := store.Open(ctx, db)
			if err != nil {
				errs[i] = err
				return
			}
			stores[i] = st
			errs[i] = st.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, st := range stores {
		if st != nil {
			t.Cleanup(func() { st.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
	}

	keys, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true) // one key set, as configured for both
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(webtest.Now)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if _, err := demo.Seed(ctx, stores[0], clk.Now(), loc, campaign.NewIDHasher(keys.Hash)); err != nil {
		t.Fatal(err)
	}
	gateway := &capturedSMS{}
	a := startInstance(t, stores[0], keys, clk, "http://127.0.0.1:8080", gateway)
	b := startInstance(t, stores[1], keys, clk, "http://127.0.0.1:8080", gateway)
	signer, err := campaign.NewNoticeSigner(keys.Token)
	if err != nil {
		t.Fatal(err)
	}
	browser := a.Client() // one browser, one cookie jar: the load balancer picks the instance

	step := func(srv *instance, method, path string, form url.Values, wantStatus int, wantLocation string) *webtest.Response {
		t.Helper()
		r := srv.Do(t, browser, method, path, form, nil)
		if r.StatusCode != wantStatus || r.Header.Get("Location") != wantLocation {
			t.Fatalf("%s %s on %s: %d → %q, want %d → %q\n%s", method, path, srv.URL, r.StatusCode, r.Header.Get("Location"),
				wantStatus, wantLocation, r.Doc.Find("main").Text())
		}
		return r
	}

	step(a, http.MethodGet, "/notice/"+signer.Sign("demo-zh", clk.Now().Add(time.Hour)), nil, http.StatusOK, "")
	step(b, http.MethodGet, "/verify", nil, http.StatusOK, "")
	step(a, http.MethodPost, "/verify/code/send", url.Values{"channel": {"phone"}}, http.StatusSeeOther, "/verify/code")

	// Both instances' workers look at the outbox at once; the code goes out once.
	var sent [2]int
	for i, srv := range []*instance{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := srv.worker.DeliverDue(ctx)
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
			sent[i] = n
		}()
	}
	wg.Wait()
	msgs := gateway.messages()
	if len(msgs) != 1 || sent[0]+sent[1] != 1 || msgs[0].To != "+8613800138001" {
		t.Fatalf("the code was sent %d times (workers %v): %+v", len(msgs), sent, msgs)
	}
	code := webtest.CodeIn(msgs[0].Text)
	if code == "" {
		t.Fatalf("no code in %q", msgs[0].Text)
	}

	step(b, http.MethodGet, "/verify/code", nil, http.StatusOK, "")
	step(b, http.MethodPost, "/verify/code/check", url.Values{"code": {code}}, http.StatusSeeOther, "/verify/done")
	step(a, http.MethodGet, "/verify/done", nil, http.StatusOK, "")

	page := step(a, http.MethodGet, "/enroll/totp", nil, http.StatusOK, "")
	secret := secretFrom(t, page)
	totpCode, err := totp.CodeAt(secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	step(b, http.MethodPost, "/enroll/totp", url.Values{"code": {totpCode}}, http.StatusSeeOther, "/enroll/recovery")
	rec := step(a, http.MethodGet, "/enroll/recovery", nil, http.StatusOK, "")
	if n := rec.Doc.Find(".recovery-codes code").Length(); n != 10 {
		t.Fatalf("recovery codes shown on the other instance: %d", n)
	}
	step(b, http.MethodPost, "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, http.StatusSeeOther, "/enroll/done")
	done := step(a, http.MethodGet, "/enroll/done", nil, http.StatusOK, "")
	if !strings.Contains(done.Doc.Find("h1").Text(), "短信验证已停用") {
		t.Fatalf("done page h1 = %q", done.Doc.Find("h1").Text())
	}

	// The confirmation submitted again, to the other instance, adds nothing: the ceremony was
	// taken once, in the database.
	b.Do(t, browser, http.MethodPost, "/enroll/totp", url.Values{"code": {totpCode}}, nil)

	u, err := stores[1].UserByID(ctx, "demo-zh")
	if err != nil || u.State != campaign.StateRetired || u.SMSRetiredAt.IsZero() {
		t.Fatalf("user = %+v, %v", u, err)
	}
	if fs, err := stores[0].Factors(ctx, "demo-zh"); err != nil || len(fs) != 1 || fs[0].Kind != store.FactorTOTP {
		t.Fatalf("factors = %+v, %v", fs, err)
	}
	topics := outboxTopics(t, stores[0], "demo-zh")
	for _, want := range []string{"verify.code", "user.verified", "factor.enrolled", "user.migrated"} {
		if topics[want] != 1 {
			t.Errorf("outbox %s = %d, want 1 (%v)", want, topics[want], topics)
		}
	}
}
