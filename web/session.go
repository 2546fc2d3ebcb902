package web

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/session"
)

// client describes the browser for limits and history.
func client(c echo.Context) audit.Client {
	ua := c.Request().UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return audit.Client{IP: c.RealIP(), UserAgent: ua}
}

// Where the request's grant and signed-in session are kept once read.
const (
	ctxCurrentSession = "current_session"
	ctxCurrentGrant   = "current_grant"
)

// currentSession returns the user's signed-in session that the cookie names, if it is live:
// ended on any instance, it is ended everywhere at once.
func (h *handler) currentSession(c echo.Context) (session.Session, bool, error) {
	return h.loadSession(c, session.User)
}

// loadSession returns the live session of kind k whose token the kind's cookie carries, reading
// it once per request.
func (h *handler) loadSession(c echo.Context, k session.Kind) (session.Session, bool, error) {
	key := ctxCurrentSession + ":" + string(k)
	if v, ok := c.Get(key).(session.Session); ok {
		return v, v.ID != "", nil
	}
	token := ""
	st := h.cookies
	if k == session.Embed {
		st = h.embedCookies
	}
	// Inside a partner's frame the only session is the embedded one.
	if ck, err := st.Get(c.Request(), h.app.Sessions.Rules(k).Cookie); err == nil && (k == session.Embed || embedOf(c) == nil) {
		token = stringValue(ck.Values[ckSession])
	}
	ss, err := h.app.Sessions.Load(h.ctx(c), k, token, c.RealIP())
	if err != nil && !errors.Is(err, session.ErrNone) {
		return session.Session{}, false, err
	}
	c.Set(key, ss)
	return ss, ss.ID != "", nil
}

// currentGrant returns the verification grant the cookie names, in whatever state; false when
// there is none or sign-out ended it.
func (h *handler) currentGrant(c echo.Context) (session.Grant, bool, error) {
	if v, ok := c.Get(ctxCurrentGrant).(session.Grant); ok {
		return v, v.ID != "", nil
	}
	g, err := h.app.Sessions.LoadGrant(h.ctx(c), stringValue(h.cookie(c).Values[ckGrant]))
	if err != nil && !errors.Is(err, session.ErrNone) {
		return session.Grant{}, false, err
	}
	c.Set(ctxCurrentGrant, g)
	return g, g.ID != "", nil
}

// startVerified records the user's verified identity as a grant and replaces the cookie with a
// fresh one that holds only its token, so a cookie planted before verification never gains the
// privilege; the browser's signed-in session stays when it is the same user's (who verified again
// to lift a "this wasn't me" lock). The browser is remembered as one of the user's devices.
func (h *handler) startVerified(c echo.Context, userID string, m identity.Method) error {
	g, token, err := h.app.Sessions.Grant(h.ctx(c), userID, string(m), client(c))
	if err != nil {
		return err
	}
	ss, signedIn, err := h.currentSession(c)
	if err != nil {
		return err
	}
	sessionToken := stringValue(h.cookie(c).Values[ckSession])
	c.Set(ctxCurrentGrant, g)
	notice := h.cookie(c).Values[ckNoticeToken]
	origin := h.cookie(c).Values[ckEmbedOrigin]
	fresh := h.renewCookie(c)
	fresh.Values[ckGrant] = token
	if notice != nil {
		fresh.Values[ckNoticeToken] = notice // the way back to the notice grants nothing
	}
	if signedIn && ss.Subject == userID {
		fresh.Values[ckSession] = sessionToken
	}
	if embedOf(c) != nil { // the embedded session and its partner stay
		fresh.Values[ckSession], fresh.Values[ckPartner], fresh.Values[ckEmbedOrigin] = sessionToken, embedOf(c).Partner.ID, origin
	}
	seen, err := h.app.Devices.Verified(h.ctx(c), userID, deviceToken(c), client(c))
	if err != nil {
		return err
	}
	h.keepDevice(c, seen.Token)
	return h.saveCookie(c, fresh)
}

// startSignedIn starts a signed-in session for a user who authenticated with a factor (methods:
// its amr values) and
// replaces the cookie, so a cookie planted earlier never gains the privilege. A session in this
// browser already (a step-up) is ended in favour of the new one. Where a step-up asked to return
// to is kept. A sign-in from a device the user has not used before sends them a notice.
func (h *handler) startSignedIn(c echo.Context, userID string, methods []string) error {
	return h.startSignedInVia(c, userID, methods, "")
}

// startSignedInVia is startSignedIn for a sign-in that came by approval on the user's phone (via:
// approval.ViaQR, approval.ViaPhone), which the session keeps. Its own notice was sent with the
// approval, so the device is remembered without a new-device notice.
func (h *handler) startSignedInVia(c echo.Context, userID string, methods []string, via string) error {
	old, _, err := h.currentSession(c)
	if err != nil {
		return err
	}
	ck := h.cookie(c)
	next := stringValue(ck.Values[ckNext])
	// New recovery codes not yet saved stay, when the user who signs in is the one they belong to
	// (who went back from them to add another method, which asks for this sign-in).
	codes, result := recoveryCodes(ck), ck.Values[ckEnrollResult]
	g, granted, err := h.currentGrant(c)
	if err != nil {
		return err
	}
	ss, token, err := h.app.Sessions.StartVia(h.ctx(c), session.User, userID, methods, via, client(c), old)
	if err != nil {
		return err
	}
	c.Set(ctxCurrentSession+":"+string(session.User), ss)
	fresh := h.renewCookie(c)
	fresh.Values[ckSession] = token
	if next != "" {
		fresh.Values[ckNext] = next
	}
	if granted && g.UserID == userID && len(codes) > 0 {
		setRecoveryCodes(fresh, codes)
		fresh.Values[ckEnrollResult] = result
	}
	// A browser the user has not signed in or verified on before sends them a notice.
	see := h.app.Devices.SignedIn
	if via != "" {
		see = h.app.Devices.Verified
	}
	seen, err := see(h.ctx(c), userID, deviceToken(c), client(c))
	if err != nil {
		return err
	}
	h.keepDevice(c, seen.Token)
	return h.saveCookie(c, fresh)
}
