package web

import (
	"net/http"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/session"
)

// The browser's cookie is signed and encrypted (gorilla/sessions) and named after the user
// session kind's cookie. It carries the steps of a flow in progress and the tokens of the
// verification grant and the signed-in session, whose rows internal/session keeps.
const (
	ckSubjectKey    = "sub_key"   // whom the verification is about, padded (see subjectWidth)
	ckSubjectUser   = "sub_uid"   // the account of the subject, padded; empty when unknown
	ckSubjectKnown  = "sub_known" // named by a signed link or a passed knowledge check
	ckKnowledgeOK   = "knowledge_ok"
	ckChannel       = "channel"   // where the last verification code went
	ckResendAt      = "resend_at" // when another code may be sent (Unix ms)
	ckGrant         = "grant"     // the token of the verification grant
	ckSession       = "sid"       // the token of the signed-in session
	ckNext          = "next"      // where the sign-in that a step-up asked for returns to
	ckEnrollEmail   = "enroll_email"
	ckRecoveryCodes = "recovery_codes"
	ckEnrollResult  = "enroll_result"
	ckTOTPSecret    = "totp_secret"
	ckTOTPURL       = "totp_url"
	ckTOTPCeremony  = "totp_ceremony"
	ckSignInSubject = "signin_sub"
	ckSignInUser    = "signin_uid"
	ckSignInAccount = "signin_account"
	flashNotice     = "notice" // the flash queue of one-time notices (message keys)
)

func newCookieStore(cfg config.Config, keys keyring.Keys) *sessions.CookieStore {
	st := sessions.NewCookieStore(keyring.Derive(keys.Session, "cookie hash", 64), keyring.Derive(keys.Session, "cookie block", 32))
	st.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(cfg.SessionMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
	}
	return st
}

// cookie returns the request's cookie; one that fails to decode gives a fresh one.
func (h *handler) cookie(c echo.Context) *sessions.Session {
	name := h.app.Sessions.Rules(session.User).Cookie
	s, err := h.cookies.Get(c.Request(), name)
	if err != nil {
		s, _ = h.cookies.New(c.Request(), name)
	}
	return s
}

func (h *handler) saveCookie(c echo.Context, s *sessions.Session) error {
	return s.Save(c.Request(), c.Response())
}

// renewCookie empties the request's cookie in place, so that everything saved from now on in
// this request writes a new cookie that carries nothing from before a privilege change.
func (h *handler) renewCookie(c echo.Context) *sessions.Session {
	s := h.cookie(c)
	for k := range s.Values {
		delete(s.Values, k)
	}
	opts := *h.cookies.Options
	s.Options = &opts
	s.IsNew = true
	return s
}

func stringValue(v any) string {
	s, _ := v.(string)
	return s
}

// subjectIn returns whom the current verification is about, if a notice link or a look-up named
// anyone.
func subjectIn(s *sessions.Session) (identity.Subject, bool) {
	key := strings.TrimRight(stringValue(s.Values[ckSubjectKey]), "\x00")
	if key == "" {
		return identity.Subject{}, false
	}
	uid := strings.TrimRight(stringValue(s.Values[ckSubjectUser]), "\x00")
	known, _ := s.Values[ckSubjectKnown].(bool)
	return identity.Subject{UserID: uid, Key: key, Identified: known}, true
}

// subjectWidth is the width the subject is padded to in the cookie. The cookie is encrypted but
// its length shows: unpadded, a look-up of an existing account ("u:" and its ID) gave a cookie of
// another length than one of an unknown account (a 34-character key) and told them apart. A
// look-up takes at most 64 characters, so every looked-up subject fits.
const subjectWidth = 80

// setSubject starts a verification about sub, forgetting the steps of any earlier one.
func setSubject(s *sessions.Session, sub identity.Subject) {
	s.Values[ckSubjectKey] = padRight(sub.Key, subjectWidth)
	s.Values[ckSubjectUser] = padRight(sub.UserID, subjectWidth)
	s.Values[ckSubjectKnown] = sub.Identified
	delete(s.Values, ckKnowledgeOK)
	delete(s.Values, ckChannel)
	delete(s.Values, ckResendAt)
}

// padRight fills s with NUL bytes up to width, which no subject holds; longer strings stay as they are.
func padRight(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return s + strings.Repeat("\x00", width-len(s))
}

func setRecoveryCodes(s *sessions.Session, codes []string) {
	s.Values[ckRecoveryCodes] = strings.Join(codes, "\n")
}

func recoveryCodes(s *sessions.Session) []string {
	v := stringValue(s.Values[ckRecoveryCodes])
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

// flash leaves a message key for the next page.
func (h *handler) flash(c echo.Context, key string) error {
	ck := h.cookie(c)
	ck.AddFlash(key, flashNotice)
	return h.saveCookie(c, ck)
}

// takeFlash returns and forgets the message key left for this page.
func (h *handler) takeFlash(c echo.Context) string {
	ck := h.cookie(c)
	flashes := ck.Flashes(flashNotice)
	if len(flashes) == 0 {
		return ""
	}
	if err := h.saveCookie(c, ck); err != nil {
		return ""
	}
	return stringValue(flashes[0])
}
