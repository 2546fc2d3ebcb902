package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"

	"github.com/smsretire/smsretire/examples/partnersite"
	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/demo"
)

// demoPartnerAddr is where --demo runs the demo partner site: the portal's port + 2 (8082 by
// default), on the portal's host. Its URL names another site than the portal, as a partner is:
// 127.0.0.1 when --base-url names localhost (and localhost when it names 127.0.0.1), so the
// browser frames the portal across sites, with the embedded cookie rules of a real partner.
func demoPartnerAddr(cfg config.Config) (addr, baseURL string, err error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", "", fmt.Errorf("demo partner: --addr %q: %w", cfg.Addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65533 {
		return "", "", fmt.Errorf("demo partner: --addr %q needs a port below 65534", cfg.Addr)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return "", "", fmt.Errorf("demo partner: %w", err)
	}
	siteHost := base.Hostname()
	switch siteHost {
	case "localhost":
		siteHost = "127.0.0.1"
	case "127.0.0.1":
		siteHost = "localhost"
	}
	sitePort := strconv.Itoa(p + 2)
	return net.JoinHostPort(host, sitePort), "http://" + net.JoinHostPort(siteHost, sitePort), nil
}

// runDemoPartner serves the demo partner site on addr; it launches the demo users into the portal.
func runDemoPartner(a *app.App, addr, baseURL string, users []demo.User, log *slog.Logger) (stop func(), err error) {
	p, ok := a.Config.Partner(demo.PartnerID)
	if !ok {
		return nil, errors.New("demo partner: no partner " + demo.PartnerID)
	}
	ids := make([]string, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.Entry.ID)
	}
	h := partnersite.New(partnersite.Config{PortalURL: a.Config.BaseURL, Audience: a.Config.BaseURL, PartnerID: p.ID, Secret: p.HMACSecret,
		BaseURL: baseURL, Users: ids, Log: log.With("component", "demo-partner")})
	return serveDemoSite("demo partner", addr, h, log)
}
