package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// BenchmarkCodeLatency measures, under load, the wait from a user's "send code" request to the
// code's arrival at the SMTP server or the SMS gateway: 32 simulated users at once, each opening
// a notice link, asking for a code and waiting for it before the next user of its lane starts.
// The outbox worker runs as serve runs it (Run, its poll at --outbox-poll). "paced" lanes send at
// most one code per --min-send-time (300 ms), as the real send request takes that long (the test
// server's fake clock skips the padding); "flat-out" lanes send as fast as the server answers.
// Metrics: p50-ms, p99-ms and max-ms of the wait, and codes/s; req-p50-ms is the median of the
// send request alone (the rest of the wait is the delivery), poolwait-ms the time requests and
// the worker spent in all waiting for a database connection.
func BenchmarkCodeLatency(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, channel := range []string{"email", "phone"} {
			for _, pace := range []string{"paced", "flat-out"} {
				b.Run(db+"/"+channel+"/"+pace, func(b *testing.B) { benchCodeLatency(b, db, channel, pace == "paced", 32, 10) })
			}
		}
	}
}

// arrivals hands each waiting user the time its message arrived.
type arrivals struct {
	mu      sync.Mutex
	at      map[string]time.Time
	waiting map[string]chan time.Time
}

func (a *arrivals) arrived(to string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.waiting[to]; ok {
		delete(a.waiting, to)
		ch <- at
		return
	}
	a.at[to] = at
}

func (a *arrivals) wait(to string) <-chan time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan time.Time, 1)
	if at, ok := a.at[to]; ok {
		delete(a.at, to)
		ch <- at
		return ch
	}
	a.waiting[to] = ch
	return ch
}

func benchCodeLatency(b *testing.B, db, channel string, paced bool, users, rounds int) {
	ctx := context.Background()
	arr := &arrivals{at: map[string]time.Time{}, waiting: map[string]chan time.Time{}}
	opts := []webtest.ServerOption{
		webtest.WithoutDemoUsers(),
		// One IP sends every code here: allow it (the per-client limit is 4 × sends-per-hour).
		webtest.WithConfig(func(c *config.Config) { c.SendsPerHour = 100000 }),
		webtest.WithParts(func(p *app.Parts) { p.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) }),
	}
	if db == "postgres" {
		opts = append(opts, webtest.WithStore(testsupport.Postgres(b)))
	}
	var smtp *testsupport.SMTPServer
	if channel == "email" {
		smtp = testsupport.StartSMTP(b, testsupport.SMTPOptions{})
		opts = append(opts, webtest.WithDelivery(webtest.DeliveryOptions{SMTP: smtp}))
	} else {
		const secret = "0123456789abcdef0123456789abcdef"
		gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				To string `json:"to"`
			}
			raw, _ := io.ReadAll(r.Body)
			if err := sms.Verify([]byte(secret), r.Header.Get(sms.SignatureHeader), raw, time.Now(), 24*365*time.Hour); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			arr.arrived(body.To, time.Now())
		}))
		b.Cleanup(gw.Close)
		g, err := sms.NewHTTPGateway(gw.URL, secret, nil, clock.System{})
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, webtest.WithDelivery(webtest.DeliveryOptions{SMS: g}))
	}
	s := webtest.NewServer(b, opts...)

	total := users * rounds * b.N
	entries := make([]campaign.RosterEntry, total)
	for i := range entries {
		entries[i] = campaign.RosterEntry{ID: fmt.Sprintf("u%06d", i), Phone: fmt.Sprintf("+86138%08d", i),
			Email: fmt.Sprintf("u%06d@example.com", i), Locale: "zh-Hans", Deadline: campaign.DateOf(s.Clock.Now().AddDate(0, 1, 0), time.UTC)}
	}
	if _, err := s.Store.UpsertUsers(ctx, entries, s.Clock.Now()); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Outbox.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	if smtp != nil {
		go func() { // hand each arrival at the SMTP server to the user waiting for it
			seen := 0
			for runCtx.Err() == nil {
				msgs := smtp.Messages()
				for _, m := range msgs[seen:] {
					arr.arrived(m.To[0], m.At)
				}
				seen = len(msgs)
				time.Sleep(time.Millisecond)
			}
		}()
	}

	var mu sync.Mutex
	var waits, reqs []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for lane := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lane; i < total; i += users {
				e := entries[i]
				to := e.Email
				if channel == "phone" {
					to = e.Phone
				}
				c := s.Client()
				s.Get(b, c, "/notice/"+s.NoticeToken(e.ID), nil)
				arrival := arr.wait(to)
				sent := time.Now()
				r := s.PostForm(b, c, "/verify/code/send", url.Values{"channel": {channel}}, nil)
				answered := time.Since(sent)
				if r.StatusCode != http.StatusSeeOther {
					b.Errorf("send to %s: %d", e.ID, r.StatusCode)
					return
				}
				select {
				case at := <-arrival:
					mu.Lock()
					waits = append(waits, at.Sub(sent))
					reqs = append(reqs, answered)
					mu.Unlock()
				case <-time.After(30 * time.Second):
					b.Errorf("the code to %s never arrived", to)
					return
				}
				if paced {
					time.Sleep(time.Until(sent.Add(s.Config.MinSendTime)))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(waits) == 0 {
		return
	}
	slices.Sort(waits)
	pct := func(p float64) float64 {
		return float64(waits[int(p*float64(len(waits)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(waits))/elapsed.Seconds(), "codes/s")
	slices.Sort(reqs)
	b.ReportMetric(float64(reqs[len(reqs)/2])/float64(time.Millisecond), "req-p50-ms")
	b.ReportMetric(float64(s.Store.DB().Stats().WaitDuration.Milliseconds()), "poolwait-ms")
	b.ReportMetric(0, "ns/op")
}
