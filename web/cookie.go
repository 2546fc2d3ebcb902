package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
)

// The browser's cookie is signed and encrypted (gorilla/sessions) and named after the user
// session kind's cookie. It carries the steps of a flow in progress and the tokens of the
// verification grant and the signed-in session, whose rows internal/session keeps.
const (
	ckSubjectKey    = "sub_key"   // whom the verification is about, padded (see subjectWidth)
	ckSubjectUser   = "sub_uid"   // the account of the subject, padded; empty when unknown
	ckSubjectKnown  = "sub_known" // named by a signed link or a passed knowledge check
	ckKnowledgeOK   = "knowledge_ok"
	ckChannel       = "channel"      // where the last verification code went
	ckResendAt      = "resend_at"    // when another code may be sent (Unix ms)
	ckGrant         = "grant"        // the token of the verification grant
	ckSession       = "sid"          // the token of the signed-in session
	ckNext          = "next"         // where the sign-in that a step-up asked for returns to
	ckNoticeToken   = "notice_token" // the notice link this browser opened, for the way back to it
	ckEnrollEmail   = "enroll_email"
	ckRecoveryCodes = "recovery_codes"
	ckEnrollResult  = "enroll_result"
	ckTOTPSecret    = "totp_secret"
	ckTOTPURL       = "totp_url"
	ckTOTPCeremony  = "totp_ceremony"
	ckSignInSubject = "signin_sub" // whom the email sign-in code went to
	ckSignInUser    = "signin_uid"
	ckSignInOther   = "signin_other"  // "not you?": do not offer the account this browser knows
	ckContactEmail  = "contact_email" // a new email address waiting for its code
	ckContactPhone  = "contact_phone" // a new phone number (E.164) waiting for its code
	flashNotice     = "notice"        // the flash queue of one-time notices (message keys)
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
// Inside a partner's frame it is the embedded cookie (embed.go).
func (h *handler) cookie(c echo.Context) *sessions.Session {
	st, name := h.cookieStore(c)
	s, err := st.Get(c.Request(), name)
	if err != nil {
		s, _ = st.New(c.Request(), name)
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
	st, _ := h.cookieStore(c)
	opts := *st.Options
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

// The sign-in cookie remembers, on this device, the account a person signs in to and the way they
// signed in last, so the next sign-in asks for neither: the account is shown masked with "not
// you?", and the last way comes first. It is its own cookie, signed and encrypted like the other,
// kept for signInRememberFor when the person ticks "remember", else until the browser closes; "not
// you?" deletes it. It holds what the person typed, so it says nothing about whether the account
// exists.
const (
	signInCookie      = "smsretire_signin"
	signInRememberFor = 30 * 24 * time.Hour // the longest the cookie codec accepts (securecookie's default)
)

// ctxSignInMemory keeps the sign-in cookie's contents as this request wrote them.
const ctxSignInMemory = "signin_memory"

// signInMemory is what the sign-in cookie holds.
type signInMemory struct {
	Account  string // as typed: a phone number or an account ID
	Shown    string // the account masked for display
	Method   string // the way used last (views.SignIn…), once a sign-in succeeded
	Remember bool   // kept across browser restarts
}

// signInMemoryOf reads the sign-in cookie; an absent or undecodable one is empty.
func (h *handler) signInMemoryOf(c echo.Context) signInMemory {
	if m, ok := c.Get(ctxSignInMemory).(signInMemory); ok {
		return m // written earlier in this request
	}
	s, err := h.cookies.Get(c.Request(), signInCookie)
	if err != nil {
		return signInMemory{}
	}
	remember, _ := s.Values["remember"].(bool)
	return signInMemory{Account: stringValue(s.Values["account"]), Shown: stringValue(s.Values["shown"]),
		Method: stringValue(s.Values["method"]), Remember: remember}
}

// saveSignInMemory writes the sign-in cookie: for signInRememberFor when m.Remember, else for the
// browser session.
func (h *handler) saveSignInMemory(c echo.Context, m signInMemory) error {
	s, _ := h.cookies.New(c.Request(), signInCookie)
	opts := *h.cookies.Options
	opts.MaxAge = 0
	if m.Remember {
		opts.MaxAge = int(signInRememberFor.Seconds())
	}
	s.Options = &opts
	s.Values["account"] = m.Account
	s.Values["shown"] = m.Shown
	s.Values["method"] = m.Method
	s.Values["remember"] = m.Remember
	c.Set(ctxSignInMemory, m)
	return s.Save(c.Request(), c.Response())
}

// forgetSignIn deletes the sign-in cookie ("not you?").
func (h *handler) forgetSignIn(c echo.Context) error {
	s, _ := h.cookies.New(c.Request(), signInCookie)
	opts := *h.cookies.Options
	opts.MaxAge = -1
	s.Options = &opts
	c.Set(ctxSignInMemory, signInMemory{})
	return s.Save(c.Request(), c.Response())
}
