// Package metrics counts what the portal does for Prometheus (prometheus/client_golang): requests
// by route, verifications, enrolments, notices and reminders, outbox deliveries, and, read from
// the database when scraped, users by state and wave and the outbox's backlog. Every name starts
// with smsretire_. Counters of what happened to accounts come from the history events of the
// catalogue (internal/audit) as their transactions commit, so no domain code counts twice; the
// web layer serves the registry on its own listener (--metrics-addr).
package metrics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/store"
)

// Metrics holds the registry and every metric of one process.
type Metrics struct {
	// Registry is what /metrics serves: these metrics and the Go runtime's and process's.
	Registry *prometheus.Registry

	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	verifyAttempts *prometheus.CounterVec
	verifyFailures *prometheus.CounterVec
	enrolments     *prometheus.CounterVec
	reminders      *prometheus.CounterVec
	delivered      *prometheus.CounterVec
	failures       *prometheus.CounterVec
}

// The label values a counter may take, so that a stranger's input never makes a new series; any
// other value counts as "other".
var (
	methods  = []string{"phone", "email", "knowledge", "assist", "partner", "enroll_email", "signin_email", "totp", "recovery"}
	factors  = []string{"totp", "passkey", "email"}
	channels = store.OutboxKinds
)

// New makes the metrics and registers them, with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_http_requests_total",
		Help: "HTTP requests answered, by route name (views.Route…; unmatched for no route), method and status.",
	}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "smsretire_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route name and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.verifyAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_verification_attempts_total",
		Help: "Answers checked to verify identity or a code (right or wrong), by method.",
	}, []string{"method"})
	m.verifyFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_verification_failures_total",
		Help: "Answers refused, by method and reason (wrong, expired, used, no_code, unknown).",
	}, []string{"method", "reason"})
	m.enrolments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_enrolments_total",
		Help: "Factors added, by kind (totp, passkey, email).",
	}, []string{"factor"})
	m.reminders = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_reminders_sent_total",
		Help: "Campaign notices and reminders written to the outbox, per user, by touch (notice, reminder:N days before the deadline, snooze:K).",
	}, []string{"touch"})
	m.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_outbox_sent_total",
		Help: "Outbox messages delivered, by channel (sms, email, event).",
	}, []string{"channel"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "smsretire_outbox_failures_total",
		Help: "Failed outbox delivery attempts, by channel; final=true when the message was given up.",
	}, []string{"channel", "final"})
	m.Registry.MustRegister(m.requests, m.latency, m.verifyAttempts, m.verifyFailures, m.enrolments, m.reminders,
		m.delivered, m.failures, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series an alert or a ratio reads exists from the start, at zero.
	for _, meth := range methods {
		m.verifyAttempts.WithLabelValues(meth)
		m.verifyFailures.WithLabelValues(meth, "wrong")
	}
	for _, f := range factors {
		m.enrolments.WithLabelValues(f)
	}
	for _, ch := range channels {
		m.delivered.WithLabelValues(ch)
		m.failures.WithLabelValues(ch, "false")
		m.failures.WithLabelValues(ch, "true")
	}
	m.reminders.WithLabelValues("notice")
	return m
}

func known(v string, set []string) string {
	for _, s := range set {
		if s == v {
			return v
		}
	}
	return "other"
}

// Request counts one answered HTTP request: route is its route's name, "unmatched" when none.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Event counts a history event that was committed (store.SQL.OnEvents): verifications,
// enrolments, notices and reminders.
func (m *Metrics) Event(ev audit.Event) {
	switch ev.Type {
	case audit.VerifySucceeded, audit.VerifyKnowledgePassed:
		meth := ev.Detail["method"]
		if ev.Type == audit.VerifyKnowledgePassed {
			meth = "knowledge"
		}
		m.verifyAttempts.WithLabelValues(known(meth, methods)).Inc()
	case audit.VerifyFailed:
		meth := known(ev.Detail["method"], methods)
		m.verifyAttempts.WithLabelValues(meth).Inc()
		reason := known(ev.Detail["reason"], []string{"wrong", "expired", "used", "no_code", "unknown"})
		m.verifyFailures.WithLabelValues(meth, reason).Inc()
	case audit.FactorAdded:
		m.enrolments.WithLabelValues(known(ev.Detail["kind"], factors)).Inc()
	case audit.CampaignNotice, audit.CampaignReminder:
		touch := ev.Detail["touch"]
		if touch == "" || len(touch) > 20 {
			touch = "other"
		}
		m.reminders.WithLabelValues(touch).Inc()
	}
}

// Delivered counts a message of kind delivered by the outbox worker.
func (m *Metrics) Delivered(kind string) { m.delivered.WithLabelValues(known(kind, channels)).Inc() }

// DeliveryFailed counts a failed delivery attempt of kind; gaveUp when the message is given up.
func (m *Metrics) DeliveryFailed(kind string, gaveUp bool) {
	m.failures.WithLabelValues(known(kind, channels), strconv.FormatBool(gaveUp)).Inc()
}

// Source is what the metrics read from the database when scraped.
type Source struct {
	Users  func(ctx context.Context) ([]campaign.Count, error)                 // users by wave and state, cached (rollout.Service.Counts)
	Outbox func(ctx context.Context, now time.Time) ([]store.OutboxDue, error) // due messages by channel
	Clock  clock.Clock
	Errors func(error) // told when a reading fails; the scrape goes on without it
}

// Watch registers the gauges read from the database: smsretire_users{state,wave},
// smsretire_outbox_depth{channel} and smsretire_outbox_oldest_due_age_seconds{channel}. The
// outbox reading is cached for a few seconds, the users' by their source.
func (m *Metrics) Watch(src Source) {
	m.Registry.MustRegister(&dbCollector{src: src})
}

var (
	usersDesc = prometheus.NewDesc("smsretire_users", "Users by wave (empty for none) and where they stand: notified, verified, enrolled, retired, exempt, out_of_scope.",
		[]string{"wave", "state"}, nil)
	depthDesc = prometheus.NewDesc("smsretire_outbox_depth", "Outbox messages due and not yet delivered, by channel.", []string{"channel"}, nil)
	ageDesc   = prometheus.NewDesc("smsretire_outbox_oldest_due_age_seconds",
		"How long the oldest due, undelivered outbox message has been due, by channel; 0 when none is.", []string{"channel"}, nil)
)

// outboxTTL is how long an outbox reading serves scrapes.
const outboxTTL = 5 * time.Second

type dbCollector struct {
	src      Source
	mu       sync.Mutex
	outbox   []store.OutboxDue
	outboxAt time.Time
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- usersDesc
	ch <- depthDesc
	ch <- ageDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if counts, err := c.src.Users(ctx); err != nil {
		c.fail(err)
	} else {
		for _, n := range counts {
			ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(n.Users), n.Wave, n.State)
		}
	}
	now := c.src.Clock.Now()
	due, err := c.readOutbox(ctx, now)
	if err != nil {
		c.fail(err)
		return
	}
	byKind := map[string]store.OutboxDue{}
	for _, d := range due {
		byKind[d.Kind] = d
	}
	for _, kind := range channels {
		d := byKind[kind]
		age := 0.0
		if d.Due > 0 && d.Oldest.Before(now) {
			age = now.Sub(d.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(d.Due), kind)
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age, kind)
	}
}

func (c *dbCollector) readOutbox(ctx context.Context, now time.Time) ([]store.OutboxDue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outbox != nil && now.Sub(c.outboxAt) < outboxTTL && !now.Before(c.outboxAt) {
		return c.outbox, nil
	}
	due, err := c.src.Outbox(ctx, now)
	if err != nil {
		return nil, err
	}
	if due == nil {
		due = []store.OutboxDue{}
	}
	c.outbox, c.outboxAt = due, now
	return due, nil
}

func (c *dbCollector) fail(err error) {
	if c.src.Errors != nil {
		c.src.Errors(err)
	}
}
