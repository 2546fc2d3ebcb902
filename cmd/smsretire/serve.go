package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/web"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parse("serve", args, stderr, getenv)
	if err != nil {
		return err
	}
	var sites demoSites
	if c.cfg.Demo {
		// The example service signs in through the provider: its client joins the configuration;
		// the demo partner site launches users into the portal: it joins as a [[partner]].
		if sites, err = addDemoSites(&c.cfg, getenv); err != nil {
			return err
		}
	}
	if c.cfg.Demo && c.cfg.ConfigFile == "" {
		// A campaign to watch: the demo users' wave starts now.
		c.cfg.Campaign.Waves = demo.Waves(time.Now(), c.cfg.Location())
	}
	// Development keys only on a loopback address: a reachable server must be configured.
	a, closeApp, err := c.open(ctx, c.cfg.LoopbackOnly())
	if err != nil {
		return err
	}
	defer closeApp()
	a.WarnDevelopmentChannels()
	if err := a.CheckDelivery(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	worker := a.Worker
	e, err := web.New(a)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.cfg.Addr)
	if err != nil {
		return err
	}
	srv := web.Server(c.cfg, e)
	fmt.Fprintf(stdout, "smsretire %s is running at %s\n", buildVersion(), c.cfg.BaseURL)
	if c.cfg.Demo {
		if err := printDemo(ctx, a, stdout); err != nil {
			ln.Close()
			return err
		}
		stopShop, err := runDemoShop(ctx, a, sites.shopAddr, sites.shopURL, c.log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopShop()
		fmt.Fprintf(stdout, "Example Shop (示例商城), a service that signs in through smsretire (OpenID Connect): %s\n", sites.shopURL)
		stopPartner, err := runDemoPartner(a, sites.partnerAddr, sites.partnerURL, demo.Users(a.Clock.Now(), a.Config.Location(), a.IDs), c.log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopPartner()
		fmt.Fprintf(stdout, "Example Partner (示例合作方), a site on another origin that frames smsretire: %s\n\n", sites.partnerURL)
	}
	c.log.Info("listening", "addr", ln.Addr().String(), "base_url", c.cfg.BaseURL, "demo", c.cfg.Demo)

	if c.cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(a, c.cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
		c.log.Info("metrics listening", "addr", c.cfg.MetricsAddr, "path", "/metrics")
	}
	// The campaign's scheduler sends notices and reminders as they fall due, until shutdown.
	sctx, stopScheduler := context.WithCancel(context.Background())
	schedulerDone := make(chan struct{})
	go func() { a.Rollout.Run(sctx); close(schedulerDone) }()
	defer func() { stopScheduler(); <-schedulerDone }()

	// The worker runs until the HTTP server has drained, so messages enqueued by the last
	// requests are still attempted; whatever remains waits in the outbox for the next start.
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() { worker.Run(wctx); close(workerDone) }()
	defer func() { stopWorker(); <-workerDone }() // before the store closes
	// The retention job deletes what is past its keeping, every hour, one instance at a time.
	rctx, stopRetention := context.WithCancel(ctx)
	retentionDone := make(chan struct{})
	go func() { a.Retention.Run(rctx); close(retentionDone) }()
	defer func() { stopRetention(); <-retentionDone }()

	// The support console's dashboard is read once now, so its first page does not wait for a
	// million users' aggregates.
	warmDone := make(chan struct{})
	go func() {
		if err := a.Support.Warm(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("support console: reading the dashboard", "err", err)
		}
		close(warmDone)
	}()
	defer func() { <-warmDone }() // before the store closes

	if a.Provider != nil {
		// Finished sign-ins for services are kept a day, so a replayed code is recognised; then
		// they go, with their tokens once those expired.
		go sweepEvery(wctx, time.Hour, func(ctx context.Context) {
			if n, err := a.Provider.Sweep(ctx); err != nil {
				c.log.Warn("sweep authorization requests", "err", err)
			} else if n > 0 {
				c.log.Info("swept authorization requests", "count", n)
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	c.log.Info("shutting down; finishing requests in flight", "grace", c.cfg.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownGrace)
	defer cancel()
	cut, err := srv.Drain(sctx)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	for _, r := range cut {
		c.log.Warn("request cut at shutdown: it ran longer than --shutdown-grace", "method", r.Method, "path", r.Route,
			"request_id", r.RequestID, "running", r.Running.Round(time.Millisecond).String())
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopWorker() // it finishes the messages in hand
	<-workerDone
	if c, ok := worker.Mail.(io.Closer); ok {
		c.Close() // QUIT on the idle SMTP connections
	}
	c.log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics on its own listener at addr, apart from the portal, so that the
// metrics are reachable only where the operator puts that address (127.0.0.1 by default).
func serveMetrics(a *app.App, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", web.MetricsHandler(a))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

func printDemo(ctx context.Context, a *app.App, w io.Writer) error {
	now := a.Clock.Now()
	users, err := demo.Seed(ctx, a.Store, now, a.Config.Location(), a.IDs)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDemo users — open a notice link in your browser:")
	for _, u := range users {
		fmt.Fprintf(w, "\n  %s (%s)\n  %s\n", u.Entry.ID, u.About, a.NoticeLink(u.Entry.ID))
	}
	fmt.Fprintf(w, "\nMessages are not sent in demo mode: read them at %s/dev/outbox\n", a.Config.BaseURL)
	if err := printDemoStaff(ctx, a, w); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// demoStaffEmail is the support console's administrator in demo mode.
const demoStaffEmail = "demo-admin@example.com"

// printDemoStaff gives the demo's console administrator a setup link while they have not set up
// how they sign in (a new link voids the one printed at the last start), and says where to sign
// in once they have.
func printDemoStaff(ctx context.Context, a *app.App, w io.Writer) error {
	by := staff.CLI("demo")
	m, err := a.Staff.ByEmail(ctx, demoStaffEmail)
	var token string
	switch {
	case errors.Is(err, staff.ErrNotFound):
		m, token, err = a.Staff.Add(ctx, by, demoStaffEmail, staff.Admin, "Demo")
	case err == nil && m.Status == staff.Pending:
		token, err = a.Staff.NewSetupLink(ctx, by, m.ID)
	}
	if err != nil {
		return fmt.Errorf("demo staff: %w", err)
	}
	if token == "" {
		fmt.Fprintf(w, "\nSupport console: sign in at %s/staff/signin as %s\n", a.Config.BaseURL, m.Email)
		return nil
	}
	fmt.Fprintf(w, "\nSupport console (%s, admin): set up a passkey or an authenticator app at this one-time link, then sign in at %s/staff/signin\n  %s\n",
		m.Email, a.Config.BaseURL, a.StaffSetupLink(token))
	return nil
}

// sweepEvery runs fn now and then every interval until ctx ends.
func sweepEvery(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
