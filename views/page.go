// Package views renders smsretire's pages with templ. Every page takes one view model that embeds
// the per-request Page context.
package views

import (
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/i18n"
)

// Page is the context every page shares: language, request facts and site settings.
type Page struct {
	T            *i18n.Translator
	Paths        Paths
	Path         string // the current path with query, for the language switch to come back to
	RequestID    string
	HTMX         bool // an htmx request: render the fragment without the layout
	SupportEmail string
	SupportPhone string
	AssetVersion string // the static files' version, the first segment of their URLs
	Demo         bool
	Location     *time.Location // --time-zone: where dates and times shown are told
	Now          time.Time      // the request's time, from the server's clock
	// Service is the operator's service the user is signing in for through the OpenID Connect
	// provider (nil otherwise): every page on the way names it and leads back to it.
	Service *ServiceContext
	// Approver: this browser's session approves sign-ins, so every page polls for requests.
	Approver bool
	// Embed is set on a page framed in a partner's site (web's embed routes): the layout has no
	// header or footer, shows the partner's branding and talks to the partner's page (nil
	// elsewhere).
	Embed *EmbedContext
}

// EmbedContext is the partner whose page frames an embedded page.
type EmbedContext struct {
	PartnerID string
	Name      string   // the partner's name, shown in its bar and on the way back to it
	Origin    string   // the partner's origin that frames the page, as the launch said; messages go there
	Origins   []string // all the partner's origins: the one the browser says frames the page may be any
	LogoURL   string   // the partner's logo, served by the portal; "" for none
	BrandURL  string   // the stylesheet with the partner's colour; "" for the portal's own
	// Completed, on the page that ends the journey, lists the user's factor kinds (totp, passkey,
	// email) for the message smsretire:completed.
	Completed []string
}

// ServiceContext is the service a sign-in is for: its name in the page language, where to go on
// to it (the login step, which hands it the result) and how to go back without signing in.
type ServiceContext struct {
	Name      string
	RequestID string // the authorization request; pages link to the login step with it
}

// Paths builds the path of a named route (views.Route…) with its parameters in order; web hands
// pages its router's, so pages link without importing web or spelling a path.
type Paths func(route string, params ...any) string

// URL returns the path of the named route, such as p.URL(RouteSecurityFactorRename, f.ID).
func (p Page) URL(route string, params ...any) string { return p.Paths(route, params...) }

// Lang returns the page language for the html lang attribute.
func (p Page) Lang() string { return p.T.Lang() }

// OtherLang returns the language the switch offers.
func (p Page) OtherLang() string {
	if p.T.Lang() == i18n.English {
		return i18n.Chinese
	}
	return i18n.English
}

// Asset returns the URL of a static file under the files' version, so browsers may cache it for
// ever; scripts' relative imports resolve under the same version.
func (p Page) Asset(path string) string {
	return p.URL(RouteStatic, p.AssetVersion+"/"+path)
}

// Date writes a date the long way in the page language: 2026年12月31日 or 31 December 2026.
func (p Page) Date(d campaign.Date) string {
	return p.T.Tf("date.long", map[string]any{"Year": d.Year, "Month": int(d.Month), "MonthName": d.Month.String(), "Day": d.Day})
}

// DateTime writes a time in the configured zone, the way the page language writes it.
func (p Page) DateTime(t time.Time) string {
	return p.Day(t) + " " + p.Clock(t)
}

// Day writes the date of t in the configured zone, the way the page language writes it.
func (p Page) Day(t time.Time) string { return p.Date(campaign.DateOf(t, p.zone())) }

// Zone names the configured time zone in the page language: 北京时间 for Asia/Shanghai, else
// its offset from UTC.
func (p Page) Zone() string { return p.T.Zone(p.zone(), p.Now) }

// Clock writes the time of day of t in the configured zone: 10:00.
func (p Page) Clock(t time.Time) string { return t.In(p.zone()).Format("15:04") }

func (p Page) zone() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Paragraphs splits a message into paragraphs at blank lines.
func Paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FieldError is one message about one form field, shown beside it and in the error summary.
type FieldError struct {
	Field   string // the input's id
	Message string
}

// Errors collects a form's field errors in display order.
type Errors []FieldError

// For returns the message for field, or "".
func (e Errors) For(field string) string {
	for _, fe := range e {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}

// Itoa writes an int.
func Itoa(n int) string { return strconv.Itoa(n) }

// Itoa64 writes an int64.
func Itoa64(n int64) string { return strconv.FormatInt(n, 10) }
