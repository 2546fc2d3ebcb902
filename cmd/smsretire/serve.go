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
	"github.com/smsretire/smsretire/web"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parse("serve", args, stderr, getenv)
	if err != nil {
		return err
	}
	// Development keys only on a loopback address: a reachable server must be configured.
	a, closeApp, err := c.open(ctx, c.cfg.LoopbackOnly())
	if err != nil {
		return err
	}
	defer closeApp()
	a.WarnDevelopmentChannels()
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
	}
	c.log.Info("listening", "addr", ln.Addr().String(), "base_url", c.cfg.BaseURL, "demo", c.cfg.Demo)

	// The worker runs until the HTTP server has drained, so messages enqueued by the last
	// requests are still attempted; whatever remains waits in the outbox for the next start.
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() { worker.Run(wctx); close(workerDone) }()
	defer func() { stopWorker(); <-workerDone }() // before the store closes

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
	fmt.Fprintf(w, "\nMessages are not sent in demo mode: read them at %s/dev/outbox\n\n", a.Config.BaseURL)
	return nil
}
