package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web"
	"github.com/smsretire/smsretire/web/webtest"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gatewaySMS is an SMS gateway that keeps what it was asked to send.
type gatewaySMS struct {
	mu   sync.Mutex
	sent []sms.Message
}

func (g *gatewaySMS) Send(_ context.Context, m sms.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, m)
	return nil
}

// scrape reads the metrics the way Prometheus does, over HTTP from the handler serve puts on
// --metrics-addr, as "name{labels}" → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

var linkInText = regexp.MustCompile(`https?://[^\s"<>]+/notice/[A-Za-z0-9._-]+`)

// One whole journey on a server with real channels (SMTP, an SMS gateway) and the campaign
// running: the notice arrives by SMS with its link, the user snoozes, verifies by an SMS code
// (one wrong try first), enrolls an authenticator app, signs in with it and adds an email factor.
// The metrics on /metrics move with it, labelled by route names, never raw paths; and the log of
// the whole journey holds no code, secret, phone number, email address or notice token.
//
// It runs with real channels and with the development ones (the log gateway and the log mailer,
// with the development outbox page as phone and mailbox), which log that they sent nothing.
func TestJourney_MetricsMoveAndTheLogHoldsNoSecret(t *testing.T) {
	t.Run("smtp and an sms gateway", func(t *testing.T) {
		smtp := testsupport.StartSMTP(t, testsupport.SMTPOptions{})
		journeyObserved(t, webtest.DeliveryOptions{SMTP: smtp, SMS: &gatewaySMS{}})
	})
	t.Run("development channels", func(t *testing.T) { journeyObserved(t, webtest.DeliveryOptions{}) })
}

func journeyObserved(t *testing.T, channels webtest.DeliveryOptions) {
	logs := &syncBuffer{}
	srv := webtest.NewServer(t,
		webtest.WithDelivery(channels),
		webtest.WithConfig(func(c *config.Config) {
			c.MinSendTime = 0
			c.Campaign.Waves = demo.Waves(webtest.Now.Add(-time.Hour), c.Location())
		}),
		webtest.WithParts(func(p *app.Parts) {
			p.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}),
	)
	metrics := httptest.NewServer(web.MetricsHandler(srv.App))
	defer metrics.Close()
	before := scrape(t, metrics.URL)
	for _, name := range []string{
		`smsretire_verification_attempts_total{method="phone"}`, `smsretire_enrolments_total{factor="totp"}`,
		`smsretire_outbox_depth{channel="sms"}`, `smsretire_outbox_oldest_due_age_seconds{channel="email"}`,
		`smsretire_outbox_failures_total{channel="sms",final="false"}`, `smsretire_reminders_sent_total{touch="notice"}`,
		`smsretire_users{state="notified",wave="demo"}`,
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("metric %s missing before the journey", name)
		}
	}

	// The campaign sends the notices: by email, and by SMS with the signed link.
	if res, err := srv.App.Rollout.RunOnce(context.Background()); err != nil || res.Notices != len(srv.Users) {
		t.Fatalf("campaign run: %+v, %v", res, err)
	}
	srv.Deliver(t)
	lastSMS := func(to string) string {
		msgs := srv.Devbox.For(to)
		if len(msgs) == 0 {
			t.Fatalf("no message to %s", to)
		}
		return msgs[0].Text
	}
	link := linkInText.FindString(lastSMS(zhPhone))
	if link == "" {
		t.Fatalf("no notice link in the SMS: %q", lastSMS(zhPhone))
	}
	path := strings.TrimPrefix(link, srv.Config.BaseURL)

	c := srv.Client()
	if r := srv.Get(t, c, path, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("notice from the SMS link: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, c, "/notice/snooze", url.Values{}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("snooze: %d", r.StatusCode)
	}
	if r := srv.PostForm(t, c, "/verify/code/send", url.Values{"channel": {"phone"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", r.StatusCode)
	}
	srv.Deliver(t)
	code := webtest.CodeIn(lastSMS(zhPhone))
	srv.PostForm(t, c, "/verify/code/check", url.Values{"code": {wrongOf(code)}}, nil)
	if r := srv.PostForm(t, c, "/verify/code/check", url.Values{"code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("check: %d", r.StatusCode)
	}
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	now, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {now}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("enroll: %d", r.StatusCode)
	}
	var recovery []string
	srv.Get(t, c, "/enroll/recovery", nil).Doc.Find(".recovery-codes code").Each(func(_ int, s *goquery.Selection) {
		recovery = append(recovery, strings.TrimSpace(s.Text()))
	})
	signedIn := signIn(t, srv, "demo-zh", secret)
	srv.Clock.Advance(61 * time.Second)
	if r := srv.PostForm(t, signedIn, "/enroll/email", url.Values{"email": {"second@example.com"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("email factor: %d", r.StatusCode)
	}
	srv.Deliver(t)
	emailCode := srv.LastCode(t, "second@example.com")
	if r := srv.PostForm(t, signedIn, "/enroll/email/confirm", url.Values{"code": {emailCode}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("email confirm: %d", r.StatusCode)
	}
	srv.Deliver(t)
	srv.Clock.Advance(20 * time.Second) // past the users' count cache

	after := scrape(t, metrics.URL)
	moved := map[string]float64{
		`smsretire_http_requests_total{method="GET",route="notice.show",status="200"}`:    1,
		`smsretire_http_requests_total{method="POST",route="notice.snooze",status="303"}`: 1,
		`smsretire_verification_attempts_total{method="phone"}`:                           2,
		`smsretire_verification_failures_total{method="phone",reason="wrong"}`:            1,
		`smsretire_enrolments_total{factor="totp"}`:                                       1,
		`smsretire_enrolments_total{factor="email"}`:                                      1,
		`smsretire_reminders_sent_total{touch="notice"}`:                                  float64(len(srv.Users)),
		`smsretire_outbox_sent_total{channel="sms"}`:                                      float64(len(srv.Users)), // notices (one with SMS closed) and the code
	}
	for name, by := range moved {
		if got := after[name] - before[name]; got < by {
			t.Errorf("%s moved by %v, want at least %v", name, got, by)
		}
	}
	if after[`smsretire_users{state="retired",wave="demo"}`] != 1 || after[`smsretire_outbox_depth{channel="email"}`] != 0 {
		t.Errorf("users retired %v, email depth %v", after[`smsretire_users{state="retired",wave="demo"}`], after[`smsretire_outbox_depth{channel="email"}`])
	}
	if after[`smsretire_http_request_duration_seconds_count{method="POST",route="verify.code.check"}`] < 2 {
		t.Error("no latency observed for verify.code.check")
	}
	for name := range after {
		if strings.Contains(name, "/notice/") || strings.Contains(name, "n1.") {
			t.Errorf("a raw path in a label: %s", name)
		}
	}

	// The log: what a journey leaves there must not let anyone in or name anyone.
	log := logs.String()
	if !strings.Contains(log, `"msg":"request"`) || !strings.Contains(log, `"msg":"outbox delivered"`) {
		t.Fatalf("the log did not capture the journey:\n%.2000s", log)
	}
	secrets := map[string]string{"TOTP secret": secret, "email code": emailCode, "notice link token": path[strings.LastIndexByte(path, '/')+1:]}
	for i, rc := range recovery {
		secrets["recovery code "+strconv.Itoa(i)] = rc
		secrets["recovery code digits "+strconv.Itoa(i)] = strings.ReplaceAll(rc, "-", "")
	}
	for i, m := range srv.Devbox.List() { // every SMS and email delivered
		if code := webtest.CodeIn(m.Text); code != "" {
			secrets["code "+strconv.Itoa(i)+" to "+m.To] = code
		}
		if l := linkInText.FindString(m.Text); l != "" {
			secrets["link token "+strconv.Itoa(i)+" to "+m.To] = l[strings.LastIndexByte(l, '/')+1:]
		}
	}
	for _, u := range srv.Users {
		secrets["phone of "+u.Entry.ID] = u.Entry.Phone
		secrets["national number of "+u.Entry.ID] = strings.TrimPrefix(strings.TrimPrefix(u.Entry.Phone, "+86"), "+852")
		if u.Entry.Email != "" {
			secrets["email of "+u.Entry.ID] = u.Entry.Email
		}
	}
	secrets["added email"] = "second@example.com"
	for name, key := range map[string][]byte{"session key": srv.Keys.Session, "token key": srv.Keys.Token, "hash key": srv.Keys.Hash,
		"encryption key": srv.Keys.Encryption[0].Key} {
		secrets[name] = base64.StdEncoding.EncodeToString(key)
		secrets[name+" (URL)"] = base64.RawURLEncoding.EncodeToString(key)
	}
	for _, name := range []string{"smsretire"} {
		if v := srv.Cookie(signedIn, name); v != "" {
			secrets["cookie "+name] = v
		}
	}
	for what, s := range secrets {
		if len(s) < 6 {
			t.Fatalf("%s is too short to look for: %q", what, s)
		}
		if strings.Contains(log, s) {
			i := strings.Index(log, s)
			t.Errorf("the log holds the %s: …%s…", what, log[max(i-200, 0):min(i+len(s)+50, len(log))])
		}
	}
}
