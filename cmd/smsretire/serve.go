package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	// Development keys only on a loopback address: a reachable server must be configured.
	a, err := setup(ctx, "serve", args, stderr, getenv, func(c config.Config) bool { return c.LoopbackOnly() })
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.migrate(ctx); err != nil {
		return err
	}
	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	clk := clock.System{}
	var box *devbox.Box // the development outbox page, only with --demo
	if a.cfg.Demo {
		box = devbox.New(devbox.DefaultCapacity)
	}
	worker, err := a.newWorker(cat, clk, box)
	if err != nil {
		return err
	}
	e, err := web.New(web.Deps{Config: a.cfg, Keys: a.keys, Store: a.store, Catalog: cat, Clock: clk, Logger: a.log,
		DeliveryFailed: a.deliveryFailed, Devbox: box})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	srv := web.Server(a.cfg, e)
	fmt.Fprintf(stdout, "smsretire %s is running at %s\n", buildVersion(), a.cfg.BaseURL)
	if a.cfg.Demo {
		if err := printDemo(ctx, a, stdout, clk.Now()); err != nil {
			ln.Close()
			return err
		}
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "base_url", a.cfg.BaseURL, "demo", a.cfg.Demo)

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
	a.log.Info("shutting down; finishing requests in flight", "grace", a.cfg.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopWorker() // it finishes the message in hand
	<-workerDone
	a.log.Info("stopped")
	return nil
}

func printDemo(ctx context.Context, a *app, w io.Writer, now time.Time) error {
	users, err := demo.Seed(ctx, a.store, now, a.cfg.Location(), campaign.NewIDHasher(a.keys.Hash))
	if err != nil {
		return err
	}
	signer, err := campaign.NewNoticeSigner(a.keys.Token)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDemo users — open a notice link in your browser:")
	for _, u := range users {
		link := a.cfg.BaseURL + "/notice/" + signer.Sign(u.Entry.ID, now.Add(a.cfg.NoticeLinkTTL))
		fmt.Fprintf(w, "\n  %s (%s)\n  %s\n", u.Entry.ID, u.About, link)
	}
	fmt.Fprintf(w, "\nMessages are not sent in demo mode: read them at %s/dev/outbox\n\n", a.cfg.BaseURL)
	return nil
}
