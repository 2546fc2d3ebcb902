package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// migrationSteps are the requests of one complete migration, in order, as a phone browser makes
// them (redirects followed): the notice, an email code asked for (its arrival over SMTP is the
// "email" step), checked, the methods, an authenticator app added, the recovery codes seen, the
// confirmation (SMS retired), sign-out, the sign-in page, a sign-in with the app's next code, and
// My security.
var migrationSteps = []string{"notice", "code-send", "code-page", "email", "code-check", "verified",
	"methods", "totp-show", "totp-confirm", "recovery-show", "recovery-done", "done-page",
	"signout", "signin-page", "signin-totp", "security"}

// BenchmarkMigrations measures complete migrations per second: 64 simulated users at once, each
// with its own cookie jar, go from a notice link to an authenticator app, SMS retired and signed in
// again, over HTTP against the portal (in this process) on SQLite and PostgreSQL. The email code
// goes over SMTP with STARTTLS to a test server, sent by the outbox worker as serve runs it. The
// --min-send-time padding is skipped by the test server's clock (it is a wait, not work: it adds
// 0.3 s to each migration and needs more users at once for the same rate). Metrics: migrations/s,
// req/s, the process's CPU ms per migration (server, SQLite and load generator; PostgreSQL's own
// processes not counted), its peak RSS (VmHWM, reset before the run; server and load generator in
// one process), and p50/p99 of each step (logged).
func BenchmarkMigrations(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) { benchMigrations(b, db, 64, 8) })
	}
}

// mailbox hands each user the first message that reaches their address.
type mailbox struct {
	mu      sync.Mutex
	arrived map[string]testsupport.ReceivedMail
	waiting map[string]chan testsupport.ReceivedMail
}

func (m *mailbox) deliver(msg testsupport.ReceivedMail) {
	m.mu.Lock()
	defer m.mu.Unlock()
	to := msg.To[0]
	if ch, ok := m.waiting[to]; ok {
		delete(m.waiting, to)
		ch <- msg
		return
	}
	if _, ok := m.arrived[to]; !ok {
		m.arrived[to] = msg
	}
}

// expect must be called before the message can arrive; it returns where it will come.
func (m *mailbox) expect(to string) <-chan testsupport.ReceivedMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan testsupport.ReceivedMail, 1)
	if msg, ok := m.arrived[to]; ok {
		ch <- msg
		return ch
	}
	m.waiting[to] = ch
	return ch
}

var secretOnPage = regexp.MustCompile(`id="totp-secret"[^>]*>([A-Z2-7 ]+)<`)

func benchMigrations(b *testing.B, db string, users, rounds int) {
	ctx := context.Background()
	box := &mailbox{arrived: map[string]testsupport.ReceivedMail{}, waiting: map[string]chan testsupport.ReceivedMail{}}
	smtp := testsupport.StartSMTP(b, testsupport.SMTPOptions{OnMessage: box.deliver})
	opts := []webtest.ServerOption{
		webtest.WithoutDemoUsers(),
		webtest.WithDelivery(webtest.DeliveryOptions{SMTP: smtp}),
		// Every simulated user comes from 127.0.0.1: lift the per-client limits off it.
		webtest.WithConfig(func(c *config.Config) { c.SendsPerHour, c.ClientAttemptsHour = 100000, 100000 }),
		webtest.WithParts(func(p *app.Parts) { p.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) }),
	}
	if db == "postgres" {
		opts = append(opts, webtest.WithStore(testsupport.Postgres(b)))
	}
	s := webtest.NewServer(b, opts...)
	total := users * rounds * b.N
	entries := make([]campaign.RosterEntry, total)
	for i := range entries {
		entries[i] = campaign.RosterEntry{ID: fmt.Sprintf("m%06d", i), Phone: fmt.Sprintf("+86137%08d", i),
			Email: fmt.Sprintf("m%06d@example.com", i), Locale: "zh-Hans", Deadline: campaign.DateOf(s.Clock.Now().AddDate(0, 1, 0), time.UTC)}
	}
	if _, err := s.Store.UpsertUsers(ctx, entries, s.Clock.Now()); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Outbox.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	lat := make([][]time.Duration, len(migrationSteps))
	var mu sync.Mutex
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM; harmless where it cannot
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for lane := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			mine := make([][]time.Duration, len(migrationSteps))
			for i := lane; i < total; i += users {
				if err := migrate(s, tr, entries[i], box, mine); err != nil {
					b.Errorf("%s: %v", entries[i].ID, err)
					return
				}
			}
			mu.Lock()
			for i := range lat {
				lat[i] = append(lat[i], mine[i]...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := processCPU() - cpu0
	if b.Failed() {
		return
	}
	requests := 0
	// Printed rather than logged: a benchmark's log is cut to a few lines.
	var table strings.Builder
	fmt.Fprintf(&table, "%s: %d users at once, %d migrations in %.1f s; each step's latency in ms:\n", b.Name(), users, total, elapsed.Seconds())
	for i, name := range migrationSteps {
		d := lat[i]
		slices.Sort(d)
		if name != "email" {
			requests += len(d)
		}
		fmt.Fprintf(&table, "    %-14s p50 %8.2f   p99 %8.2f\n", name, ms(d, 0.5), ms(d, 0.99))
	}
	fmt.Print(table.String())
	b.ReportMetric(float64(total)/elapsed.Seconds(), "migrations/s")
	b.ReportMetric(float64(requests)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(total), "cpu-ms/migration")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

func ms(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// migrate takes one user through a complete migration in a fresh browser, recording each step's
// time in lat (by migrationSteps' order).
func migrate(s *webtest.Server, tr *http.Transport, e campaign.RosterEntry, box *mailbox, lat [][]time.Duration) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := 0
	// do sends one request, checks its status (and for a redirect its target) and times it.
	do := func(method, path string, form url.Values, status int, location string) (string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, s.URL+path, body)
		if err != nil {
			return "", err
		}
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
		req.Header.Set("Accept-Language", "zh-CN,zh-Hans;q=0.9")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		t := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat[step] = append(lat[step], time.Since(t))
		step++
		if err != nil {
			return "", err
		}
		if resp.StatusCode != status || (location != "" && resp.Header.Get("Location") != location) {
			return "", fmt.Errorf("%s %s: %d %s, want %d %s", method, path, resp.StatusCode, resp.Header.Get("Location"), status, location)
		}
		return string(page), nil
	}
	const ok, seeOther = http.StatusOK, http.StatusSeeOther
	if _, err := do("GET", "/notice/"+s.NoticeToken(e.ID), nil, ok, ""); err != nil {
		return err
	}
	arrival := box.expect(e.Email)
	sent := time.Now()
	if _, err := do("POST", "/verify/code/send", url.Values{"channel": {"email"}}, seeOther, "/verify/code"); err != nil {
		return err
	}
	if _, err := do("GET", "/verify/code", nil, ok, ""); err != nil {
		return err
	}
	var code string
	select {
	case m := <-arrival:
		lat[step] = append(lat[step], m.At.Sub(sent))
		step++
		if code = webtest.CodeIn(m.Part("text/plain")); code == "" {
			return fmt.Errorf("no code in the email")
		}
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the code never arrived")
	}
	if _, err := do("POST", "/verify/code/check", url.Values{"code": {code}}, seeOther, "/verify/done"); err != nil {
		return err
	}
	if _, err := do("GET", "/verify/done", nil, ok, ""); err != nil {
		return err
	}
	if _, err := do("GET", "/enroll", nil, ok, ""); err != nil {
		return err
	}
	page, err := do("GET", "/enroll/totp", nil, ok, "")
	if err != nil {
		return err
	}
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil {
		return fmt.Errorf("no secret on the page")
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	now := s.Clock.Now()
	enrollCode, _ := totp.CodeAt(secret, now)
	if _, err := do("POST", "/enroll/totp", url.Values{"code": {enrollCode}}, seeOther, "/enroll/recovery"); err != nil {
		return err
	}
	if _, err := do("GET", "/enroll/recovery", nil, ok, ""); err != nil {
		return err
	}
	if _, err := do("POST", "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, seeOther, "/enroll/done"); err != nil {
		return err
	}
	if _, err := do("GET", "/enroll/done", nil, ok, ""); err != nil {
		return err
	}
	if _, err := do("POST", "/signout", url.Values{}, seeOther, "/signin"); err != nil {
		return err
	}
	if _, err := do("GET", "/signin", nil, ok, ""); err != nil {
		return err
	}
	// The enrollment used this step's code: sign in with the next one, accepted a step early.
	next, _ := totp.CodeAt(secret, now.Add(totp.Period))
	if _, err := do("POST", "/signin/totp", url.Values{"account": {e.ID}, "code": {next}}, seeOther, "/security"); err != nil {
		return err
	}
	_, err = do("GET", "/security", nil, ok, "")
	return err
}

// processCPU is the CPU time this process used so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMiB is the process's peak resident set (VmHWM in /proc/self/status), in MiB; 0 where
// there is no /proc.
func peakRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
