package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// Embedding: a partner's site frames the portal, and the user's whole journey runs inside the
// frame. The journey's routes are served a second time under the embed group's prefix
// (/embed/:partner/verify, …; group.embedded), where
//   - the partner's origins, and only they, may frame the page (frame-ancestors), passkeys may be
//     made and used in the frame (Permissions-Policy), and no Cross-Origin-Opener-Policy applies;
//   - the cookie is the embedded one: SameSite=None; Secure; Partitioned (CHIPS), the only kind a
//     browser gives a page framed by another site, kept apart per top-level site;
//   - links, forms and redirects lead to the embedded routes, so the user never leaves the frame;
//   - the layout has no header or footer, shows the partner's branding and talks to its page.

// Embedded cookie values, beside those of the journey (cookie.go).
const (
	ckPartner     = "embed_partner" // the partner whose launch started the embedded session
	ckEmbedOrigin = "embed_origin"  // the partner's origin that frames the pages
)

// ctxEmbed holds the *embedContext of an embedded request.
const ctxEmbed = "embed"

// embedContext is the partner an embedded request is for, and where the partner's page is.
type embedContext struct {
	Partner config.Partner
}

// embedOf returns the embedded request's partner, or nil for every other request.
func embedOf(c echo.Context) *embedContext {
	e, _ := c.Get(ctxEmbed).(*embedContext)
	return e
}

// embedTwins records the routes that are also served embedded: by name, and by path for the
// redirects handlers write as paths.
type embedTwins struct {
	names map[string]bool
	paths map[string]bool
}

func (t *embedTwins) add(name, path string) {
	if t.names == nil {
		t.names, t.paths = map[string]bool{}, map[string]bool{}
	}
	t.names[name], t.paths[path] = true, true
}

// embedded also serves the group's routes inside a partner's frame: under the embed group's
// prefix, behind its middleware and then the group's own, named views.EmbedRoute(name).
func (g *group) embedded(embed *group) *group {
	g.twin = embed
	return g
}

// newCookieStoreEmbedded is the cookie store of embedded pages: the same keys as the portal's
// cookie, for a third-party context. Browsers send a cookie to a framed page of another site
// only with SameSite=None, which needs Secure (http://localhost counts as secure for
// development), and keep a Partitioned one apart per top-level site.
func newCookieStoreEmbedded(base *sessions.CookieStore) *sessions.CookieStore {
	st := &sessions.CookieStore{Codecs: base.Codecs}
	st.Options = &sessions.Options{Path: "/embed", MaxAge: base.Options.MaxAge, HttpOnly: true, Secure: true, Partitioned: true,
		SameSite: http.SameSiteNoneMode}
	return st
}

// cookieStore returns the store and the name of the request's cookie: the embedded one inside a
// partner's frame, else the portal's.
func (h *handler) cookieStore(c echo.Context) (*sessions.CookieStore, string) {
	if embedOf(c) != nil {
		return h.embedCookies, h.app.Sessions.Rules(session.Embed).Cookie
	}
	return h.cookies, h.app.Sessions.Rules(session.User).Cookie
}

// embedFor returns the middleware of embedded routes for the partner that partnerID names in the
// request: an unknown partner's pages are not found; a known one's get its frame headers, the
// embedded cookie, links and redirects, and the embedded layout with its branding.
func (h *handler) embedFor(partnerID func(c echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := h.app.Launches.Partner(partnerID(c))
			if !ok {
				return echo.NewHTTPError(http.StatusNotFound)
			}
			e := &embedContext{Partner: p}
			c.Set(ctxEmbed, e)
			hd := c.Response().Header()
			hd.Del("Cross-Origin-Opener-Policy") // a frame has no opener to keep apart; the partner's page talks to it
			hd.Set("Permissions-Policy", embedPermissions(p.Origins))
			c.Set(ctxEmbedRedirect, func(to string) string { return h.embedPath(p.ID, to) })
			page := h.page(c)
			page.Paths = h.embedPaths(p.ID)
			origin := stringValue(h.cookie(c).Values[ckEmbedOrigin])
			if !containsString(p.Origins, origin) {
				origin = p.Origins[0]
			}
			page.Embed = &views.EmbedContext{PartnerID: p.ID, Name: p.Name, Origin: origin, Origins: p.Origins}
			if len(p.Logo) > 0 {
				page.Embed.LogoURL = h.path(views.RouteEmbedLogo, p.ID)
			}
			if p.Color != "" {
				page.Embed.BrandURL = h.path(views.RouteEmbedBrand, p.ID)
			}
			c.Set(pageKey, page)
			return h.frameAncestors(p.Origins)(next)(c)
		}
	}
}

// embedded is embedFor the partner the path names (/embed/:partner/…).
func (h *handler) embedded(next echo.HandlerFunc) echo.HandlerFunc {
	return h.embedFor(func(c echo.Context) string { return c.Param("partner") })(next)
}

// embedPermissions is the Permissions-Policy of an embedded page: the site's, and passkeys made
// and used in the frame, which the partner's iframe delegates with
// allow="publickey-credentials-create; publickey-credentials-get".
func embedPermissions(origins []string) string {
	list := "self"
	for _, o := range origins {
		list += " " + strconv.Quote(o)
	}
	return "camera=(), microphone=(), geolocation=(), payment=(), publickey-credentials-create=(" + list + "), publickey-credentials-get=(" + list + ")"
}

// ctxEmbedRedirect holds the function that turns a redirect's path into its embedded twin's.
const ctxEmbedRedirect = "embed_redirect"

// embedPath returns the embedded twin of a path (with its query) for partnerID, or the path as
// it is when it has none.
func (h *handler) embedPath(partnerID, to string) string {
	path, _, _ := strings.Cut(to, "?")
	if h.twins.paths[path] {
		return strings.Replace(h.embed.prefix, ":partner", partnerID, 1) + to
	}
	return to
}

// embedPaths builds paths for an embedded page: a route with an embedded twin leads to the twin.
func (h *handler) embedPaths(partnerID string) views.Paths {
	return func(route string, params ...any) string {
		if h.twins.names[route] {
			return h.path(views.EmbedRoute(route), append([]any{partnerID}, params...)...)
		}
		return h.path(route, params...)
	}
}

// requireEmbed, after embedded, lets through the holder of a live embedded session that a launch
// of this partner started; anyone else is told to start again from the partner's site.
func (h *handler) requireEmbed(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ss, ok, err := h.loadSession(c, session.Embed)
		if err != nil {
			return err
		}
		if !ok || stringValue(h.cookie(c).Values[ckPartner]) != embedOf(c).Partner.ID {
			return h.embedProblem(c, http.StatusUnauthorized, "ended")
		}
		c.Set(ctxUser, ss.Subject) // the group's own guard sets it again, from the same cookie
		return next(c)
	}
}

// embedProblem answers an embedded request that cannot go on, inside the frame.
func (h *handler) embedProblem(c echo.Context, status int, key string) error {
	return render(c, status, views.EmbedProblem(views.EmbedProblemPage{Page: h.page(c), Key: key}))
}

// embedCompleted marks the page that ends an embedded journey with the user's factor kinds, for
// the message smsretire:completed; elsewhere it returns p as it is.
func embedCompleted(p views.Page, factors []store.Factor) views.Page {
	if p.Embed == nil {
		return p
	}
	e := *p.Embed
	e.Completed = nil
	for _, f := range factors {
		if !containsString(e.Completed, f.Kind) {
			e.Completed = append(e.Completed, f.Kind)
		}
	}
	p.Embed = &e
	return p
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// embedLogo serves a partner's logo from the portal's origin (embedded pages load nothing from
// elsewhere); only the file the configuration names.
func (h *handler) embedLogo(c echo.Context) error {
	p := embedOf(c).Partner
	if len(p.Logo) == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	return c.Blob(http.StatusOK, p.LogoType, p.Logo)
}

// embedBrand serves the stylesheet with a partner's colour. The colour was checked as #rrggbb;
// links and buttons get it darkened as far as text needs (4.5:1, WCAG AA) on white and on the
// light grey of boxes (--surface), which 5:1 on white covers.
func (h *handler) embedBrand(c echo.Context) error {
	p := embedOf(c).Partner
	if p.Color == "" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	brand := readable(p.Color, 5)
	css := fmt.Sprintf(":root { --brand: %s; --brand-dark: %s; --brand-contrast: #ffffff; }\n.embed-bar { border-top: 4px solid %s; }\n",
		brand, readable(brand, 7), p.Color)
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", []byte(css))
}

// readable darkens the colour hex (#rrggbb) until it has at least ratio contrast against white.
func readable(hex string, ratio float64) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil {
		return "#000000"
	}
	r, g, b := float64(v>>16&0xff), float64(v>>8&0xff), float64(v&0xff)
	for i := 0; i < 100 && contrastOnWhite(r, g, b) < ratio; i++ {
		r, g, b = r*0.95, g*0.95, b*0.95
	}
	return fmt.Sprintf("#%02x%02x%02x", int(r), int(g), int(b))
}

// contrastOnWhite is the WCAG contrast ratio of an sRGB colour against white.
func contrastOnWhite(r, g, b float64) float64 {
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	return 1.05 / (l + 0.05)
}
