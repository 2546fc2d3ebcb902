// Package webtest serves the real portal on a loopback port for a test, built by internal/app as
// serve builds it, with a fake clock, a fresh SQLite store and development keys, and reads its
// answers as HTML. It sits beside web, so that nothing under internal/ imports the web layer.
package webtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/mail"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/sms"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/views/message"
	"github.com/smsretire/smsretire/web"
)

// Now is the fixed time a test server starts at: 24 November 2026, 10:00 in Shanghai. With the
// demo users seeded then, demo-zh's deadline is 31 December 2026.
var Now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// ServerOption changes how NewServer builds the server.
type ServerOption func(*serverOptions)

type serverOptions struct {
	now      time.Time
	noDemo   bool
	delivery *DeliveryOptions
	config   []func(*config.Config)
	parts    []func(*app.Parts)
	store    *store.SQL
	keys     *keyring.Keys
	clock    *clock.Fake
}

// WithNow starts the fake clock at t instead of Now.
func WithNow(t time.Time) ServerOption { return func(o *serverOptions) { o.now = t } }

// WithConfig changes the configuration before it is validated, for settings a test needs.
func WithConfig(fn func(*config.Config)) ServerOption {
	return func(o *serverOptions) { o.config = append(o.config, fn) }
}

// WithParts changes what app.New receives, for collaborators a test replaces (a mailer, the
// passkey providers, a development outbox, the code message builder).
func WithParts(fn func(*app.Parts)) ServerOption {
	return func(o *serverOptions) { o.parts = append(o.parts, fn) }
}

// WithStore serves from st, a store the test opened and migrated (one PostgreSQL database shared
// by several instances, say), instead of a fresh SQLite file. Demo users are seeded into it
// unless WithoutDemoUsers.
func WithStore(st *store.SQL) ServerOption { return func(o *serverOptions) { o.store = st } }

// WithKeys uses k instead of freshly generated development keys, as instances of one deployment
// share their configured keys.
func WithKeys(k keyring.Keys) ServerOption { return func(o *serverOptions) { o.keys = &k } }

// WithClock uses clk, shared with other instances, instead of a new fake clock at Now.
func WithClock(clk *clock.Fake) ServerOption { return func(o *serverOptions) { o.clock = clk } }

// DeliveryOptions choose the channels of the outbox worker.
type DeliveryOptions struct {
	SMTP        *testsupport.SMTPServer // email goes to this server over SMTP; nil: the log mailer
	SMS         sms.Gateway             // nil: the log gateway, serve's default
	MaxAttempts int                     // attempts before a message is given up; 0: --outbox-max-attempts
}

// WithDelivery gives the outbox worker the test's channels: email over SMTP to a test server, an
// SMS gateway, fewer attempts. Without it the worker uses serve's development channels (the log,
// and the development outbox that /dev/outbox shows). Nothing runs in the background:
// Server.Deliver delivers what is due.
func WithDelivery(d DeliveryOptions) ServerOption { return func(o *serverOptions) { o.delivery = &d } }

// WithoutDemoUsers leaves the store empty instead of seeding the demo users.
func WithoutDemoUsers() ServerOption { return func(o *serverOptions) { o.noDemo = true } }

// Server is the real portal, served on a loopback port for the duration of one test.
type Server struct {
	URL     string   // http://127.0.0.1:PORT, no trailing slash
	App     *app.App // every service, as web.New received them
	Store   *store.SQL
	Clock   *clock.Fake
	Keys    keyring.Keys
	Config  config.Config
	Catalog *i18n.Catalog
	Users   []demo.User    // the seeded demo users
	Devbox  *devbox.Box    // the development outbox (--demo, which test servers run with)
	Outbox  *outbox.Worker // the delivery worker; Deliver runs it
	Echo    *echo.Echo     // the server's router, for tests that walk every route
}

// NewServer builds the portal with app.New and web.New against a fresh migrated SQLite store,
// generated development keys, a fake clock at a fixed time and the demo users, in --demo, and
// serves it on 127.0.0.1. A message missing from the catalog fails the test. Everything stops when
// the test ends.
func NewServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	o := serverOptions{now: Now}
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.Demo = true
	for _, fn := range o.config {
		fn(&cfg)
	}
	if o.delivery != nil && o.delivery.MaxAttempts > 0 {
		cfg.OutboxMaxAttempts = o.delivery.MaxAttempts
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	if o.keys == nil {
		keys, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true)
		if err != nil {
			t.Fatalf("dev keys: %v", err)
		}
		o.keys = &keys
	}
	if o.store == nil {
		o.store = testsupport.SQLite(t)
	}
	if o.clock == nil {
		o.clock = clock.NewFake(o.now)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	cat.OnMissing(func(lang, id string) { t.Errorf("message %q missing in %s", id, lang) })

	p := app.Parts{Config: cfg, Keys: *o.keys, Store: o.store, Catalog: cat, Render: message.NewRenderer(cat, cfg),
		Clock: o.clock, Logger: testLogger(t)}
	if o.delivery != nil {
		p.SMS = o.delivery.SMS
		if o.delivery.SMTP != nil {
			if p.Mail, err = smtpMailer(o.delivery.SMTP, cfg.MailFrom); err != nil {
				t.Fatalf("mailer: %v", err)
			}
		}
	}
	for _, fn := range o.parts {
		fn(&p)
	}
	a, err := app.New(p)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	var users []demo.User
	if !o.noDemo {
		if users, err = demo.Seed(ctx, a.Store, o.clock.Now(), cfg.Location(), a.IDs); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	e, err := web.New(a)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts := httptest.NewUnstartedServer(e)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close) // runs before the store closes: cleanups run last first

	return &Server{URL: ts.URL, App: a, Echo: e, Store: a.Store, Clock: o.clock, Keys: a.Keys, Config: cfg, Catalog: cat, Users: users,
		Devbox: a.Devbox, Outbox: a.Worker}
}

// smtpMailer sends to the test SMTP server, trusting its certificate.
func smtpMailer(srv *testsupport.SMTPServer, from string) (mail.Sender, error) {
	set, err := mail.ParseURL(srv.URL())
	if err != nil {
		return nil, err
	}
	set.TLSConfig = srv.TLSConfig()
	return mail.NewSMTP(set, from)
}

// Deliver runs the delivery worker over every message due now, as serve's worker does on its
// next look, and returns how many went out.
func (s *Server) Deliver(t testing.TB) int {
	t.Helper()
	n, err := s.Outbox.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return n
}

// codeInText finds a one-time code: a run of 6 or 8 digits standing alone.
var codeInText = regexp.MustCompile(`(?:^|[^0-9])([0-9]{8}|[0-9]{6})(?:[^0-9]|$)`)

// CodeIn returns the one-time code in a message's text, or "" when there is none.
func CodeIn(text string) string {
	m := codeInText.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// LastCode returns the code in the newest message the worker delivered to to (a number in E.164
// or an email address), read from the development outbox. It fails the test when there is none.
func (s *Server) LastCode(t testing.TB, to string) string {
	t.Helper()
	if s.Devbox == nil {
		t.Fatal("LastCode needs the development outbox: a server in --demo")
	}
	msgs := s.Devbox.For(to)
	if len(msgs) == 0 {
		t.Fatalf("no message was delivered to %s", to)
	}
	code := CodeIn(msgs[0].Text)
	if code == "" {
		t.Fatalf("no code in the message to %s: %q", to, msgs[0].Text)
	}
	return code
}

// notMeInText finds the path of a "this wasn't me" link in a message.
var notMeInText = regexp.MustCompile(`/not-me/[A-Za-z]+`)

// NotMeLink returns the path of the "this wasn't me" link in the newest message delivered to to
// whose subject has about in it (empty: any subject), read from the development outbox. It fails
// the test when there is none.
func (s *Server) NotMeLink(t testing.TB, to, about string) string {
	t.Helper()
	for _, m := range s.Devbox.For(to) {
		if !strings.Contains(m.Subject, about) {
			continue
		}
		if link := notMeInText.FindString(m.Text); link != "" {
			return link
		}
	}
	t.Fatalf("no message to %s about %q has a this-wasn't-me link", to, about)
	return ""
}

// NoticeToken signs a notice token for userID, valid for the configured link lifetime from now.
func (s *Server) NoticeToken(userID string) string {
	return s.App.Notices.Sign(userID, s.Clock.Now().Add(s.Config.NoticeLinkTTL))
}

// NoticeLink returns the absolute URL of userID's personal notice.
func (s *Server) NoticeLink(userID string) string {
	return s.URL + "/notice/" + s.NoticeToken(userID)
}

// Client returns a client with its own cookie jar that does not follow redirects, so a test
// can assert a 303 and its Location.
func (s *Server) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Cookie returns the value of the cookie name that client holds for the server, or "".
func (s *Server) Cookie(client *http.Client, name string) string {
	u, _ := url.Parse(s.URL)
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Response is an HTTP response whose body has been read, with the body parsed as HTML.
type Response struct {
	*http.Response
	Body []byte
	Doc  *goquery.Document
}

// Do sends a request to the server with client: path is relative to the server, form (when not
// nil) is sent url-encoded, and header adds request headers. The body is read and parsed.
func (s *Server) Do(t testing.TB, client *http.Client, method, path string, form url.Values, header http.Header) *Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return ReadResponse(t, resp)
}

// Get sends a GET request; see Do.
func (s *Server) Get(t testing.TB, client *http.Client, path string, header http.Header) *Response {
	t.Helper()
	return s.Do(t, client, http.MethodGet, path, nil, header)
}

// PostForm sends a url-encoded POST, as a same-origin form would; see Do.
func (s *Server) PostForm(t testing.TB, client *http.Client, path string, form url.Values, header http.Header) *Response {
	t.Helper()
	return s.Do(t, client, http.MethodPost, path, form, header)
}

// ReadResponse reads and closes resp's body and parses it as HTML.
func ReadResponse(t testing.TB, resp *http.Response) *Response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", resp.Request.URL.Path, err)
	}
	return &Response{Response: resp, Body: b, Doc: ParseHTML(t, b)}
}

// ParseHTML parses an HTML document for goquery assertions.
func ParseHTML(t testing.TB, b []byte) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// testLogger writes the server's log into the test's log, shown when a test fails or with -v,
// and drops lines written after the test ended.
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
