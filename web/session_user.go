package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// Session keys of a signed-in user and of enrollment in progress.
const (
	sessSignedIn      = "signed_in"
	sessAuthAt        = "auth_at"
	sessEnrollEmail   = "enroll_email"
	sessRecoveryCodes = "recovery_codes"
	sessEnrollResult  = "enroll_result"
	sessTOTPCeremony  = "totp_ceremony"
)

// signedInUser returns the user who signed in with a factor in this session.
func (h *handler) signedInUser(s *sessions.Session) (string, bool) {
	uid, _ := s.Values[sessUser].(string)
	in, _ := s.Values[sessSignedIn].(bool)
	return uid, uid != "" && in
}

// enrollUser returns the user who may add a factor now: verified within the elevated window, or
// signed in with an existing factor.
func (h *handler) enrollUser(s *sessions.Session) (string, bool) {
	if uid, _, ok := h.verifiedUser(s); ok {
		return uid, true
	}
	return h.signedInUser(s)
}

// needVerify answers a request for enrollment without a fresh verification or sign-in.
func (h *handler) needVerify(c echo.Context) error {
	return render(c, http.StatusForbidden, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusForbidden, Key: "error.need_verify"}))
}

// needSignIn answers a request for a signed-in page without a signed-in session.
func (h *handler) needSignIn(c echo.Context) error {
	return render(c, http.StatusUnauthorized, views.Error(views.ErrorPage{Page: h.page(c), Status: http.StatusUnauthorized, Key: "error.need_signin"}))
}

// startSignedInSession replaces the session with a fresh one for a user who signed in.
func (h *handler) startSignedInSession(c echo.Context, userID, method string) error {
	old := h.session(c)
	old.Options.MaxAge = -1
	fresh := sessions.NewSession(h.sessions, sessionName)
	opts := *h.sessions.Options
	fresh.Options = &opts
	fresh.IsNew = true
	fresh.Values[sessUser] = userID
	fresh.Values[sessSignedIn] = true
	fresh.Values[sessAuthAt] = h.now().UnixMilli()
	fresh.Values[sessMethod] = method
	return h.saveSession(c, fresh)
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
