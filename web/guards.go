package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// The guards of the route groups (routes.go) decide who may call a route and put whom it acts
// for on the context; handlers read it from there and never check again.
const (
	ctxSubject = "subject" // identity.Subject: whom the verification is about (verify)
	ctxUser    = "user"    // string: the user the route acts for (verified, enroll, security)
	ctxSession = "session" // session.Session: the signed-in session (security, staff, embed)
	ctxGrant   = "grant"   // session.Grant: the verification grant (verified)
	ctxStaff   = "staff"   // staff.Member: the signed-in staff member (staff)
)

// subjectOf returns whom the verification is about; set by requireSubject.
func subjectOf(c echo.Context) identity.Subject {
	s, _ := c.Get(ctxSubject).(identity.Subject)
	return s
}

// userOf returns the user the route acts for; set by requireGrant, requireEnroller and
// requireSession (for a user's kind).
func userOf(c echo.Context) string {
	s, _ := c.Get(ctxUser).(string)
	return s
}

// sessionOf returns the signed-in session; set by requireSession (and requireEnroller for a
// signed-in user).
func sessionOf(c echo.Context) session.Session {
	s, _ := c.Get(ctxSession).(session.Session)
	return s
}

// staffOf returns the signed-in staff member; set by requireStaffMember, the staff group's guard.
func staffOf(c echo.Context) staff.Member {
	m, _ := c.Get(ctxStaff).(staff.Member)
	return m
}

// grantOf returns the verification grant; set by requireGrant.
func grantOf(c echo.Context) session.Grant {
	g, _ := c.Get(ctxGrant).(session.Grant)
	return g
}

// requireSubject lets a verification step through when a notice link or a look-up named the
// account; anyone else goes back to the look-up.
func (h *handler) requireSubject(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sub, ok := subjectIn(h.cookie(c))
		if !ok {
			return h.redirectTo(c, views.RouteHome)
		}
		c.Set(ctxSubject, sub)
		return next(c)
	}
}

// requireGrant lets through the user whose identity this browser verified, while the grant
// allows the first enrollment. Without a verification the visitor goes back to the look-up.
func (h *handler) requireGrant(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		g, ok, err := h.currentGrant(c)
		if err != nil {
			return err
		}
		if !ok {
			return h.redirectTo(c, views.RouteHome)
		}
		if !g.Live(h.now()) { // the time to use it ran out, or it led to a factor already
			return h.needVerify(c)
		}
		c.Set(ctxUser, g.UserID)
		c.Set(ctxGrant, g)
		return next(c)
	}
}

// requireEnroller lets through the user who may add a factor now: verified in this browser
// (the grant is live), or signed in with a factor used within the step-up window. finishing
// routes (the recovery codes, the confirmation) also admit the user whose grant the enrollment
// just consumed. refuse answers everyone else.
func (h *handler) requireEnroller(finishing bool, refuse echo.HandlerFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			g, ok, err := h.currentGrant(c)
			if err != nil {
				return err
			}
			if ok && (g.Live(h.now()) || finishing && g.Open(h.now())) {
				c.Set(ctxUser, g.UserID)
				return next(c)
			}
			ss, ok, err := h.currentSession(c)
			if err != nil {
				return err
			}
			if ok && h.app.Sessions.Fresh(ss) {
				c.Set(ctxUser, ss.Subject)
				c.Set(ctxSession, ss)
				return next(c)
			}
			return refuse(c)
		}
	}
}

// requireSession lets through whoever holds a live session of kind k: a signed-in user for
// session.User (My security), staff or an embedded page's user for the kinds to come. Others are
// asked to sign in.
func (h *handler) requireSession(k session.Kind) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ss, ok, err := h.loadSession(c, k)
			if err != nil {
				return err
			}
			if !ok {
				return h.needSignIn(c)
			}
			if k != session.Staff {
				c.Set(ctxUser, ss.Subject)
			}
			c.Set(ctxSession, ss)
			return next(c)
		}
	}
}

// requireStaffMember, the staff group's guard, lets through an active staff member signed in with
// a staff session, and puts the session and the member on the context. Anyone else is asked to
// sign in as staff; a member disabled meanwhile is signed out.
func (h *handler) requireStaffMember(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ss, ok, err := h.loadSession(c, session.Staff)
		if err != nil {
			return err
		}
		if !ok {
			return h.needStaffSignIn(c)
		}
		m, err := h.app.Staff.Member(h.ctx(c), ss.Subject)
		if err != nil && !errors.Is(err, staff.ErrNotFound) {
			return err
		}
		if err != nil || m.Status != staff.Active {
			if err := h.app.Sessions.End(h.ctx(c), ss, client(c)); err != nil {
				return err
			}
			return h.needStaffSignIn(c)
		}
		c.Set(ctxSession, ss)
		c.Set(ctxStaff, m)
		return next(c)
	}
}

// requireStaff, on a route of the staff group, lets the request through only when the staff
// member's role allows action a; others get a 403 page in their language. Handlers behind it
// never check the role again.
func (h *handler) requireStaff(a staff.Action) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			m := staffOf(c)
			if !m.Can(a) {
				return h.staffForbidden(c)
			}
			return next(c)
		}
	}
}

// staffPage is the page context of a staff page: in the member's language unless the browser
// chose one.
func (h *handler) staffPage(c echo.Context) views.Page {
	return h.pageFor(c, staffOf(c).Locale)
}

// staffForbidden answers a staff member whose role does not allow the route.
func (h *handler) staffForbidden(c echo.Context) error {
	return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: h.staffPage(c), Status: http.StatusForbidden,
		Key: "error.staff_forbidden", Staff: true}))
}

// needStaffSignIn answers a staff route asked without a staff session: a page is asked for
// after the staff sign-in, which comes back to it; anything else is refused with a link to it.
func (h *handler) needStaffSignIn(c echo.Context) error {
	if c.Request().Method == http.MethodGet && c.Request().Header.Get("HX-Request") != "true" {
		return redirect(c, h.path(views.RouteStaffSignInShow)+"?next="+url.QueryEscape(localPath(c.Request().URL.RequestURI())))
	}
	return render(c, http.StatusUnauthorized, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusUnauthorized,
		Key: "error.need_staff_signin", Staff: true}))
}

// requireFresh, after requireSession, lets a sensitive change through only when the user
// authenticated within the step-up window; otherwise they sign in again and come back to My
// security.
func (h *handler) requireFresh(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.app.Sessions.Fresh(sessionOf(c)) {
			return h.stepUp(c, h.path(views.RouteSecurityShow))
		}
		return next(c)
	}
}

// emailFactorOn hides the email factor's routes when --email-factor=off.
func (h *handler) emailFactorOn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.cfg.EmailFactor == "off" {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		return next(c)
	}
}

// needVerify answers a request for enrollment without a fresh verification or sign-in. A user
// who could sign in with a factor — signed in, but not recently enough, or who just added their
// first factor with this browser's verification — is asked to authenticate again and comes back.
func (h *handler) needVerify(c echo.Context) error {
	if embedOf(c) != nil {
		// Inside a partner's frame there is no signing in again: a new launch verifies anew.
		return h.embedProblem(c, http.StatusForbidden, "verify")
	}
	if h.canSignIn(c) {
		return h.stepUp(c, h.path(views.RouteEnrollChoose))
	}
	return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusForbidden, Key: "error.need_verify"}))
}

// needVerifyJSON is needVerify for the passkey ceremony's JSON requests.
func (h *handler) needVerifyJSON(c echo.Context) error {
	return jsonError(c, http.StatusForbidden, h.page(c).T.T("error.need_verify.title"))
}

// canSignIn reports whether this browser's user has a factor to authenticate with again.
func (h *handler) canSignIn(c echo.Context) bool {
	if _, ok, _ := h.currentSession(c); ok {
		return true
	}
	g, ok, _ := h.currentGrant(c)
	return ok && !g.ConsumedAt.IsZero()
}

// stepUp sends the user to authenticate again, then back to where they were: the page itself for
// a GET, or back for a form post.
func (h *handler) stepUp(c echo.Context, back string) error {
	if c.Request().Method == http.MethodGet {
		back = c.Request().URL.RequestURI()
	}
	return redirect(c, h.path(views.RouteSignInShow)+"?next="+url.QueryEscape(localPath(back))+"&stepup=1")
}

// needSignIn answers a request for a signed-in page without a signed-in session.
func (h *handler) needSignIn(c echo.Context) error {
	return render(c, http.StatusUnauthorized, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusUnauthorized, Key: "error.need_signin"}))
}

// requireUnlocked, after a guard that put the user on the context, lets a change through only while
// no "this wasn't me" locks the account's changes; otherwise the page says how to lift the lock.
// The domain refuses such changes too (campaign.ErrChangesLocked); this tells the user before they
// start.
func (h *handler) requireUnlocked(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := h.store.UserByID(h.ctx(c), userOf(c))
		if err != nil {
			return err
		}
		if u.ChangesLocked() {
			if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON) {
				return jsonError(c, http.StatusForbidden, h.page(c).T.T("locked.title"))
			}
			return h.changesLocked(c)
		}
		return next(c)
	}
}

// changesLocked answers a change refused because a "this wasn't me" locked the account's changes:
// what happened and how to lift it, in the account's language.
func (h *handler) changesLocked(c echo.Context) error {
	p := h.page(c)
	m := views.ChangesLockedPage{Page: p}
	if uid := userOf(c); uid != "" {
		u, err := h.store.UserByID(h.ctx(c), uid)
		if err != nil {
			return err
		}
		m.Page, m.Since = h.pageFor(c, u.Locale), u.ChangesLockedAt
	}
	_, m.SignedIn, _ = h.currentSession(c)
	return render(c, http.StatusForbidden, views.ChangesLocked(m))
}
