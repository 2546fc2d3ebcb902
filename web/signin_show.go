package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/provider"
	"github.com/smsretire/smsretire/views"
)

// signInWays are the ways to sign in, in the order offered when none was used before: the
// strongest first, approval on the phone (convenient, not phishing-resistant) after the codes,
// the recovery code last.
var signInWays = []string{views.SignInPasskey, views.SignInTOTP, views.SignInEmail, views.SignInApproval, views.SignInRecovery}

// orderWays returns the ways to sign in with first (the way chosen or used last) in front; the
// passkey, which needs no account, only when withPasskey.
func orderWays(first string, withPasskey bool) []string {
	out := make([]string, 0, len(signInWays))
	if slices.Contains(signInWays, first) && (withPasskey || first != views.SignInPasskey) {
		out = append(out, first)
	}
	for _, w := range signInWays {
		if w != first && (withPasskey || w != views.SignInPasskey) {
			out = append(out, w)
		}
	}
	return out
}

// signInShow renders the sign-in page: the account field with the ways to sign in as its
// buttons, or, once an account is chosen (or remembered on this device), that account masked with
// "not you?" and every way to sign in below it, the one chosen or used last first.
func (h *handler) signInShow(c echo.Context) error {
	ck := h.cookie(c)
	if next := c.QueryParam("next"); next != "" {
		ck.Values[ckNext] = localPath(next)
		if err := h.saveCookie(c, ck); err != nil {
			return err
		}
	}
	m, err := h.signInModel(c, c.QueryParam("way"))
	if err != nil {
		return err
	}
	m.StepUp = c.QueryParam("stepup") != ""
	if flash := h.takeFlash(c); flash != "" {
		m.Notice = m.T.T(flash)
	}
	return render(c, http.StatusOK, views.SignIn(m))
}

// signInModel builds the sign-in page for this browser, with the way chosen (if any) first.
func (h *handler) signInModel(c echo.Context, chosen string) (views.SignInPage, error) {
	k, err := h.knownUser(c)
	if err != nil {
		return views.SignInPage{}, err
	}
	mem := h.signInMemoryOf(c)
	if k.userID != "" && h.cookie(c).Values[ckSignInOther] != true {
		if mem, err = h.signInAsKnown(c, mem, k.userID); err != nil {
			return views.SignInPage{}, err
		}
	}
	m := views.SignInPage{Page: k.page, LastUsed: mem.Method, EmailSent: stringValue(h.cookie(c).Values[ckSignInSubject]) != ""}
	if !slices.Contains(signInWays, chosen) {
		chosen = ""
	}
	first := mem.Method
	if chosen != "" {
		first = chosen
	}
	if mem.Account == "" {
		m.Account = views.SignInAccount{Remembered: true}
		m.Methods = orderWays(first, false)
	} else {
		m.Account = views.SignInAccount{Shown: mem.Shown, Remembered: mem.Remember}
		m.Methods = orderWays(first, true)
		m.Chosen = m.Methods[0] // its code field ready, the recovery code's section open
	}
	if req, ok := h.signingInFor(c); ok {
		h.signInForService(c, &m, req, first)
	}
	// A QR code signs in whoever approves it: not for a step-up, nor where a service asked for a
	// phishing-resistant sign-in, nor on a phone on its way to approve one. Where a service named
	// the account, only that account's approval completes (signInQRComplete).
	m.QR = h.cfg.QRSignIn && !k.signedIn && !m.PasskeyOnly && !strings.HasPrefix(stringValue(h.cookie(c).Values[ckNext]), "/qr/")
	// Approval on the phone (--push-approval) is not a factor: not for a step-up, nor for the
	// journey's sign-in that confirms the new method works.
	if !h.cfg.PushApproval || k.signedIn || k.enrolled {
		m.Methods = slices.DeleteFunc(m.Methods, func(w string) bool { return w == views.SignInApproval })
		if m.Chosen == views.SignInApproval {
			m.Chosen = m.Methods[0]
		}
	}
	switch {
	case m.Service != "":
		// The layout's banner leads back to the service.
	case k.signedIn:
		m.Back = views.Link{Href: h.path(views.RouteSecurityShow), Text: m.T.T("signin.back.security")}
	case k.enrolled:
		m.Back = views.Link{Href: h.path(views.RouteEnrollDone), Text: m.T.T("signin.back.journey")}
		m.Step = views.StepConfirm
	default:
		m.Back = views.Link{Href: h.path(views.RouteHome), Text: m.T.T("signin.back.home")}
	}
	return m, nil
}

// signInForService fits the sign-in page to the service the user signs in for: its name; the
// account it named, fixed (only that account's factors count); a passkey alone when it needs a
// phishing-resistant sign-in; the way to the retirement notice for a user still on SMS codes.
func (h *handler) signInForService(c echo.Context, m *views.SignInPage, req provider.Request, first string) {
	m.Service = req.Client.DisplayName(m.T.Lang())
	if req.LoginHint != "" {
		m.Account = views.SignInAccount{Shown: h.ident.Shown(req.LoginHint)}
		m.AccountFixed = true
		m.Methods = orderWays(first, true)
		m.Chosen = m.Methods[0]
	}
	if req.PhishingResistant {
		m.PasskeyOnly = true
		m.Methods = []string{views.SignInPasskey}
		m.Chosen = views.SignInPasskey
		return
	}
	m.NudgeRequest = req.ID
}

// signInAsKnown makes the account this browser verified or is signed in to the one the sign-in is
// for, shown as the masked phone number, unless the remembered account is that user already.
// Only the user themselves gets here, so the masked number tells nobody anything new.
func (h *handler) signInAsKnown(c echo.Context, mem signInMemory, uid string) (signInMemory, error) {
	if mem.Account != "" {
		sub, err := h.ident.Find(h.ctx(c), mem.Account)
		if err != nil {
			return mem, err
		}
		if sub.UserID == uid {
			return mem, nil
		}
	}
	u, err := h.store.UserByID(h.ctx(c), uid)
	if err != nil {
		return mem, err
	}
	mem.Account, mem.Shown = uid, phone.Mask(u.Phone)
	return mem, h.saveSignInMemory(c, mem)
}

// known is whom this browser is known to be, for the sign-in page.
type known struct {
	page     views.Page // in the account's language, unless the person chose one
	userID   string     // the user this browser verified or is signed in to; "" for nobody
	signedIn bool       // signed in (a step-up, or a visit while signed in)
	enrolled bool       // just added a first method with this browser's verification: the journey's last step
}

// knownUser tells whom this browser verified (straight after enrollment) or is signed in to (a
// step-up), with the page in that account's language; nobody, and the browser's language, else.
func (h *handler) knownUser(c echo.Context) (known, error) {
	ss, signedIn, err := h.currentSession(c)
	if err != nil {
		return known{}, err
	}
	if signedIn {
		p, err := h.accountPage(c, ss.Subject)
		return known{page: p, userID: ss.Subject, signedIn: true}, err
	}
	g, verified, err := h.currentGrant(c)
	if err != nil {
		return known{}, err
	}
	if verified && g.Open(h.now()) {
		p, err := h.accountPage(c, g.UserID)
		return known{page: p, userID: g.UserID, enrolled: !g.ConsumedAt.IsZero()}, err
	}
	return known{page: h.page(c)}, nil
}

// signInAccount takes the account once, remembers it on this device (masked, for the page; for
// good when the person ticked "remember") and offers the way whose button was pressed first. The
// email way sends its code at once.
func (h *handler) signInAccount(c echo.Context) error {
	account := strings.TrimSpace(c.FormValue("account"))
	if req, ok := h.signingInFor(c); ok && req.LoginHint != "" {
		account = req.LoginHint // a service named the account: only its factors count
	}
	way := c.FormValue("method")
	remember := c.FormValue("remember") != ""
	if msg := validateAccount(account); msg != "" {
		return h.signInAccountError(c, account, remember, h.page(c).T.T(msg))
	}
	old := h.signInMemoryOf(c)
	if err := h.saveSignInMemory(c, signInMemory{Account: account, Shown: h.ident.Shown(account), Method: old.Method, Remember: remember}); err != nil {
		return err
	}
	ck := h.cookie(c)
	delete(ck.Values, ckSignInSubject)
	delete(ck.Values, ckSignInUser)
	delete(ck.Values, ckSignInOther)
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	if way == views.SignInEmail {
		return h.sendSignInEmail(c, account)
	}
	if way == views.SignInApproval && h.cfg.PushApproval {
		return h.startApproval(c, account)
	}
	return h.signInWay(c, way)
}

// signInForget forgets the account on this device ("not you?") and asks for one again.
func (h *handler) signInForget(c echo.Context) error {
	if err := h.forgetSignIn(c); err != nil {
		return err
	}
	ck := h.cookie(c)
	delete(ck.Values, ckSignInSubject)
	delete(ck.Values, ckSignInUser)
	ck.Values[ckSignInOther] = true
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteSignInShow)
}

// signInWay leads back to the sign-in page with a way offered first.
func (h *handler) signInWay(c echo.Context, way string) error {
	to := h.path(views.RouteSignInShow)
	if slices.Contains(signInWays, way) {
		to += "?way=" + way // first on the page, its field focused (a #fragment would stop autofocus)
	}
	return redirect(c, to)
}

// signInAccountError re-renders the account form with its message.
func (h *handler) signInAccountError(c echo.Context, typed string, remember bool, msg string) error {
	m, err := h.signInModel(c, "")
	if err != nil {
		return err
	}
	m.Account = views.SignInAccount{Typed: typed, Remembered: remember}
	m.Methods = orderWays(m.LastUsed, false)
	m.Chosen = ""
	m.Errors = views.Errors{{Field: "account", Message: msg}}
	return render(c, http.StatusUnprocessableEntity, views.SignIn(m))
}
