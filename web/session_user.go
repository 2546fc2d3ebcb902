package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/views"
)

// Session keys of a signed-in user and of enrollment in progress.
const (
	sessSID           = "sid"
	sessNext          = "next"
	sessEnrollEmail   = "enroll_email"
	sessRecoveryCodes = "recovery_codes"
	sessEnrollResult  = "enroll_result"
	sessTOTPCeremony  = "totp_ceremony"
)

// currentKey caches the request's signed-in session on the Echo context.
const currentKey = "current_session"

// signedInUser returns the user signed in with a factor in this browser: the cookie's session
// token must name a live row (not ended, within the absolute and the idle lifetime), so a
// session ended on any instance is ended everywhere at once.
func (h *handler) signedInUser(c echo.Context) (string, bool) {
	ss, ok := h.currentSession(c)
	return ss.UserID, ok
}

func (h *handler) currentSession(c echo.Context) (store.Session, bool) {
	if v, ok := c.Get(currentKey).(*store.Session); ok {
		return *v, v.ID != ""
	}
	ss := h.loadSession(c)
	c.Set(currentKey, &ss)
	return ss, ss.ID != ""
}

func (h *handler) loadSession(c echo.Context) store.Session {
	sess := h.session(c)
	token := stringValue(sess.Values[sessSID])
	if token == "" {
		return store.Session{}
	}
	ss, err := h.store.Session(h.ctx(c), sessionID(token))
	now := h.now()
	if err != nil || !ss.EndedAt.IsZero() || !now.Before(ss.ExpiresAt) || now.Sub(ss.LastSeenAt) > h.cfg.SessionIdle ||
		ss.UserID != stringValue(sess.Values[sessUser]) {
		return store.Session{}
	}
	if now.Sub(ss.LastSeenAt) > time.Minute || ss.IP != c.RealIP() {
		if err := h.store.TouchSession(h.ctx(c), ss.ID, now, c.RealIP()); err != nil {
			h.log.Warn("touch session", "err", err)
		}
		ss.LastSeenAt, ss.IP = now, c.RealIP()
	}
	return ss
}

// freshUser returns the signed-in user when they authenticated within the step-up window.
func (h *handler) freshUser(c echo.Context) (string, bool) {
	ss, ok := h.currentSession(c)
	if !ok || h.now().Sub(ss.AuthAt) > h.cfg.StepUpWindow {
		return ss.UserID, false
	}
	return ss.UserID, true
}

// enrollUser returns the user who may add a factor now: verified within the elevated window (the
// first enrollment), or signed in with a factor used within the step-up window.
func (h *handler) enrollUser(c echo.Context) (string, bool) {
	if uid, _, ok := h.verifiedUser(h.session(c)); ok {
		return uid, true
	}
	return h.freshUser(c)
}

// needVerify answers a request for enrollment without a fresh verification or sign-in. A user
// who is signed in, but not recently enough, is asked to authenticate again and comes back.
func (h *handler) needVerify(c echo.Context) error {
	if _, ok := h.signedInUser(c); ok {
		return h.stepUp(c, "/enroll")
	}
	return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusForbidden, Key: "error.need_verify"}))
}

// needFresh answers a sensitive change on My security without a recent authentication.
func (h *handler) needFresh(c echo.Context, back string) error {
	if _, ok := h.signedInUser(c); ok {
		return h.stepUp(c, back)
	}
	return h.needSignIn(c)
}

// stepUp sends the user to authenticate again, then back to where they were: the page itself for
// a GET, or back for a form post.
func (h *handler) stepUp(c echo.Context, back string) error {
	if c.Request().Method == http.MethodGet {
		back = c.Request().URL.RequestURI()
	}
	return redirect(c, "/signin?next="+url.QueryEscape(localPath(back))+"&stepup=1")
}

// needSignIn answers a request for a signed-in page without a signed-in session.
func (h *handler) needSignIn(c echo.Context) error {
	return render(c, http.StatusUnauthorized, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusUnauthorized, Key: "error.need_signin"}))
}

// startSignedInSession records a new session row for a user who authenticated with a factor and
// replaces the cookie, so a session planted earlier never gains the privilege. A session of the
// same user in this browser (a step-up) is ended in favour of the new one.
func (h *handler) startSignedInSession(c echo.Context, userID, method string) error {
	now := h.now()
	if old, ok := h.currentSession(c); ok {
		if _, err := h.store.EndSession(h.ctx(c), old.UserID, old.ID, now); err != nil {
			return err
		}
	}
	next := stringValue(h.session(c).Values[sessNext])
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	tok := base64.RawURLEncoding.EncodeToString(token)
	row := store.Session{ID: sessionID(tok), UserID: userID, CreatedAt: now, LastSeenAt: now, AuthAt: now,
		ExpiresAt: now.Add(h.cfg.SessionMaxAge), IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	if err := h.store.CreateSession(h.ctx(c), row); err != nil {
		return err
	}
	c.Set(currentKey, &row)
	fresh := h.renewSession(c)
	fresh.Values[sessUser] = userID
	fresh.Values[sessSID] = tok
	fresh.Values[sessMethod] = method
	if next != "" {
		fresh.Values[sessNext] = next
	}
	return h.saveSession(c, fresh)
}

// renewSession empties the request's session in place, so that everything saved from now on in
// this request writes a new cookie that carries nothing from before the privilege change.
func (h *handler) renewSession(c echo.Context) *sessions.Session {
	s := h.session(c)
	for k := range s.Values {
		delete(s.Values, k)
	}
	opts := *h.sessions.Options
	s.Options = &opts
	s.IsNew = true
	return s
}

// sessionID is the stored ID of a session token: its SHA-256, so the table holds no usable token.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func setRecoveryCodes(s *sessions.Session, codes []string) {
	s.Values[sessRecoveryCodes] = strings.Join(codes, "\n")
}

func recoveryCodes(s *sessions.Session) []string {
	v, _ := s.Values[sessRecoveryCodes].(string)
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}
