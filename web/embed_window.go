package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/views"
)

// Some browsers refuse passkeys inside a frame of another site. The embedded passkey page then
// offers a link that opens the step in a window of its own: the link carries the frame's
// verification, sealed with the cookie keys, for windowTTL and once. The window is the portal's
// own site, with the portal's cookie, and goes on as the journey does outside a frame (passkey,
// recovery codes, done); the frame asks embedPasskeyStatus until the passkey is there and moves on
// to the end of the journey.
const (
	windowTTL  = 5 * time.Minute
	windowName = "passkey-window" // the sealed value's name, which binds it to this use
)

// windowHandoff is what the window's link carries.
type windowHandoff struct {
	UserID  string
	Grant   string // the verification grant's token, from the frame's cookie
	Nonce   string
	Expires time.Time
}

// passkeyWindowURL returns, inside a partner's frame for a user whose verification is live, the
// link that opens the passkey step in a window of its own; "" elsewhere.
func (h *handler) passkeyWindowURL(c echo.Context) (string, error) {
	if embedOf(c) == nil {
		return "", nil
	}
	g, ok, err := h.currentGrant(c)
	if err != nil || !ok || !g.Live(h.now()) || g.UserID != userOf(c) {
		return "", err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed, err := securecookie.EncodeMulti(windowName, windowHandoff{UserID: g.UserID, Grant: stringValue(h.cookie(c).Values[ckGrant]),
		Nonce: hex.EncodeToString(nonce), Expires: h.now().Add(windowTTL)}, h.cookies.Codecs...)
	if err != nil {
		return "", err
	}
	return h.path(views.RouteEnrollWindow, sealed), nil
}

// enrollWindow opens the passkey step in a window of its own, with the verification of the
// frame that made the link: once, while it is fresh and the verification is live.
func (h *handler) enrollWindow(c echo.Context) error {
	var w windowHandoff
	if err := securecookie.DecodeMulti(windowName, c.Param("token"), &w, h.cookies.Codecs...); err != nil || !h.now().Before(w.Expires) {
		return h.noticeLinkBroken(c, err == nil)
	}
	sum := sha256.Sum256([]byte(windowName + "\x00" + w.Nonce))
	taken, err := h.store.TakeLaunchNonce(h.ctx(c), hex.EncodeToString(sum[:]), w.Expires)
	if err != nil {
		return err
	}
	if !taken {
		return h.noticeLinkBroken(c, true)
	}
	ck := h.renewCookie(c)
	ck.Values[ckGrant] = w.Grant
	setSubject(ck, identity.ForUser(w.UserID, true))
	if err := h.saveCookie(c, ck); err != nil {
		return err
	}
	return h.redirectTo(c, views.RouteEnrollPasskeyShow)
}

// embedPasskeyStatus tells the frame whether the user has a passkey now, made in the window.
func (h *handler) embedPasskeyStatus(c echo.Context) error {
	factors, err := h.store.Factors(h.ctx(c), userOf(c))
	if err != nil {
		return err
	}
	added := false
	for _, f := range factors {
		added = added || f.Kind == "passkey"
	}
	return c.JSON(http.StatusOK, map[string]bool{"added": added})
}
