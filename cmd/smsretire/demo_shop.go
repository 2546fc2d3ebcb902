package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/smsretire/smsretire/examples/shop"
	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
)

// demoShopAddr is where --demo runs the example service: the portal's port + 1 (8081 by
// default), on the portal's host; its URL names the host as --base-url does.
func demoShopAddr(cfg config.Config) (addr, baseURL string, err error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", "", fmt.Errorf("demo shop: --addr %q: %w", cfg.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65534 {
		return "", "", fmt.Errorf("demo shop: --addr %q needs a port below 65535", cfg.Addr)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return "", "", fmt.Errorf("demo shop: %w", err)
	}
	shopPort := strconv.Itoa(p + 1)
	return net.JoinHostPort(host, shopPort), base.Scheme + "://" + net.JoinHostPort(base.Hostname(), shopPort), nil
}

// demoSites are where --demo runs the example shop and the demo partner site.
type demoSites struct {
	shopAddr, shopURL       string
	partnerAddr, partnerURL string
}

// addDemoSites registers the example service and the demo partner site in the configuration
// (demo.toml in --data-dir, generated once with their secrets) before the provider is built; it
// returns their addresses and URLs.
func addDemoSites(cfg *config.Config, getenv func(string) string) (sites demoSites, err error) {
	if sites.shopAddr, sites.shopURL, err = demoShopAddr(*cfg); err != nil {
		return sites, err
	}
	if sites.partnerAddr, sites.partnerURL, err = demoPartnerAddr(*cfg); err != nil {
		return sites, err
	}
	path, err := demo.ConfigFile(cfg.DataDir, sites.shopURL, sites.partnerURL)
	if err != nil {
		return sites, err
	}
	return sites, cfg.AddDemoFile(path, getenv)
}

// runDemoShop serves the example service on addr until ctx ends; it signs in through a's
// provider.
func runDemoShop(ctx context.Context, a *app.App, addr, baseURL string, log *slog.Logger) (stop func(), err error) {
	client, ok := a.Config.ClientByID(demo.ShopClientID)
	if !ok || a.Provider == nil {
		return nil, errors.New("demo shop: no provider or no client " + demo.ShopClientID)
	}
	h, err := shop.New(shop.Config{Issuer: a.Provider.Issuer(), ClientID: client.ID, ClientSecret: client.Secret, BaseURL: baseURL,
		Log: log.With("component", "example-shop")})
	if err != nil {
		return nil, err
	}
	return serveDemoSite("demo shop", addr, h, log)
}

// serveDemoSite serves h on addr until the returned stop is called.
func serveDemoSite(name, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(name, "err", err)
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}, nil
}
