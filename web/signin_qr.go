package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/qrsignin"
	"github.com/smsretire/smsretire/views"
)

// The computer's side of a QR code sign-in (internal/qrsignin): the sign-in page's "scan with
// your phone" shows a QR code, watches it (htmx every 2 s; a "check now" link without JavaScript)
// and, once the phone approved, completes with a POST that carries the binding cookie.

// qrCookie carries the computer's binding token and the QR code's current id: only the browser
// holding it may watch or complete the sign-in. It is HttpOnly and SameSite=Strict, and
// __Host- prefixed where the portal is served over HTTPS (so no subdomain can set it).
func (h *handler) qrCookie() string {
	if h.cfg.SecureCookies() {
		return "__Host-smsretire_qr"
	}
	return "smsretire_qr"
}

// qrTicket reads the binding cookie; false when the browser has none of the right form.
func (h *handler) qrTicket(c echo.Context) (qrsignin.Ticket, bool) {
	ck, err := c.Request().Cookie(h.qrCookie())
	if err != nil {
		return qrsignin.Ticket{}, false
	}
	binding, id, ok := strings.Cut(ck.Value, ".")
	if !ok || !qrsignin.BindingWellFormed(binding) || !qrsignin.WellFormed(id) {
		return qrsignin.Ticket{}, false
	}
	return qrsignin.Ticket{Binding: binding, ID: id}, true
}

// keepQRTicket sets the binding cookie for the rest of the sign-in's lifetime; a zero ticket
// deletes it.
func (h *handler) keepQRTicket(c echo.Context, t qrsignin.Ticket) {
	ck := &http.Cookie{Name: h.qrCookie(), Value: t.Binding + "." + t.ID, Path: "/", MaxAge: int(qrsignin.Lifetime.Seconds()),
		HttpOnly: true, Secure: h.cfg.SecureCookies(), SameSite: http.SameSiteStrictMode}
	if t.Binding == "" {
		ck.Value, ck.MaxAge = "", -1
	}
	http.SetCookie(c.Response(), ck)
}

// signInQRStart shows a new QR code: a new sign-in, bound to this browser by its cookie.
func (h *handler) signInQRStart(c echo.Context) error {
	if old, ok := h.qrTicket(c); ok {
		if err := h.app.QRSignIn.Cancel(h.ctx(c), old); err != nil {
			return err
		}
	}
	t, err := h.app.QRSignIn.Start(h.ctx(c), client(c))
	if errors.Is(err, qrsignin.ErrTooManyCodes) {
		return h.signInQRRender(c, http.StatusTooManyRequests, views.QRSignInPage{Page: h.page(c), Problem: "qr.err.too_many_codes"})
	}
	if err != nil {
		return err
	}
	h.keepQRTicket(c, t)
	return h.redirectTo(c, views.RouteSignInQRShow)
}

// signInQRShow renders the QR code page for this browser's sign-in, as it stands now.
func (h *handler) signInQRShow(c echo.Context) error {
	m, err := h.signInQRModel(c)
	if err != nil {
		return err
	}
	return h.signInQRRender(c, http.StatusOK, m)
}

// signInQRStatus answers the page's watch, which htmx asks every 2 seconds: 204 while the sign-in
// stands where the page shows it (seen), else the block anew. It never carries a token.
func (h *handler) signInQRStatus(c echo.Context) error {
	if !h.page(c).HTMX {
		return h.redirectTo(c, views.RouteSignInQRShow)
	}
	m, err := h.signInQRModel(c)
	if err != nil {
		return err
	}
	if m.Seen == c.QueryParam("seen") {
		return c.NoContent(http.StatusNoContent)
	}
	return render(c, http.StatusOK, views.QRSignInStatus(m))
}

// signInQRModel watches this browser's sign-in and builds its page: the code while it waits
// (a new one when it ran out), what the phone is doing, or why it ended.
func (h *handler) signInQRModel(c echo.Context) (views.QRSignInPage, error) {
	m := views.QRSignInPage{Page: h.page(c), Back: views.Link{Href: h.path(views.RouteSignInShow), Text: h.page(c).T.T("qr.back")}}
	t, ok := h.qrTicket(c)
	if !ok {
		m.State = "none"
		m.Seen = m.State
		return m, nil
	}
	code, next, err := h.app.QRSignIn.Watch(h.ctx(c), t)
	if errors.Is(err, qrsignin.ErrNotFound) {
		m.State = "none"
		m.Seen = m.State
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if next != t {
		h.keepQRTicket(c, next)
	}
	m.State = string(code.State)
	m.Until = code.Until
	m.Seen = m.State + "." + strconv.Itoa(code.Refreshes)
	if code.State == qrsignin.Pending {
		img, err := h.qrImages.dataURL(h.cfg.BaseURL+h.path(views.RouteQRShow, next.ID), next.ID, code.EndsAt)
		if err != nil {
			return m, err
		}
		m.Image = img
	}
	return m, nil
}

func (h *handler) signInQRRender(c echo.Context, status int, m views.QRSignInPage) error {
	if m.Back.Href == "" {
		m.Back = views.Link{Href: h.path(views.RouteSignInShow), Text: m.T.T("qr.back")}
	}
	return render(c, status, views.QRSignIn(m))
}

// signInQRComplete signs this browser in once its phone approved: the binding cookie is the
// authority; a replay, or a browser without it, gets nothing. The session records that it came
// by QR code (amr "mca"), and the user was emailed in the same transaction.
func (h *handler) signInQRComplete(c echo.Context) error {
	t, ok := h.qrTicket(c)
	if !ok {
		return h.signInQRRender(c, http.StatusForbidden, views.QRSignInPage{Page: h.page(c), State: "none", Problem: "qr.err.no_binding"})
	}
	// A service that named the account takes that account's approval only; another's waits
	// unused until it runs out.
	if req, ok := h.signingInFor(c); ok && req.LoginHint != "" {
		code, _, err := h.app.QRSignIn.Watch(h.ctx(c), t)
		if err != nil && !errors.Is(err, qrsignin.ErrNotFound) {
			return err
		}
		if code.State == qrsignin.Approved && code.UserID != req.LoginHint {
			m, err := h.signInQRModel(c)
			if err != nil {
				return err
			}
			m.Problem = "qr.err.other_account"
			return h.signInQRRender(c, http.StatusForbidden, m)
		}
	}
	userID, err := h.app.QRSignIn.Complete(h.ctx(c), t, client(c))
	if errors.Is(err, qrsignin.ErrGone) {
		m, err := h.signInQRModel(c)
		if err != nil {
			return err
		}
		m.Problem = "qr.err.not_approved"
		return h.signInQRRender(c, http.StatusConflict, m)
	}
	if err != nil {
		return err
	}
	h.keepQRTicket(c, qrsignin.Ticket{})
	if err := h.startSignedInVia(c, userID, approval.AMR, approval.ViaQR); err != nil {
		return err
	}
	return redirect(c, h.afterSignIn(c))
}

// signInQRCancel ends this browser's sign-in (the user chose another way) and goes back to the
// sign-in page.
func (h *handler) signInQRCancel(c echo.Context) error {
	if t, ok := h.qrTicket(c); ok {
		if err := h.app.QRSignIn.Cancel(h.ctx(c), t); err != nil {
			return err
		}
	}
	h.keepQRTicket(c, qrsignin.Ticket{})
	return h.redirectTo(c, views.RouteSignInShow)
}

// qrImages keeps each QR code's image, drawn once per id: choosing the mask is the costly part of
// encoding, and the page is drawn again on every reload and refresh.
type qrImages struct {
	mu   sync.Mutex
	byID map[string]qrImage
}

type qrImage struct {
	url   string
	until time.Time
}

func newQRImages() *qrImages { return &qrImages{byID: map[string]qrImage{}} }

// dataURL returns the image of the QR code id, which encodes content, as a data: URL (the CSP
// allows img-src data:), drawing it the first time; it is kept until until.
func (q *qrImages) dataURL(content, id string, until time.Time) (string, error) {
	q.mu.Lock()
	img, ok := q.byID[id]
	q.mu.Unlock()
	if ok {
		return img.url, nil
	}
	b, err := qrPNG(content, 264)
	if err != nil {
		return "", err
	}
	img = qrImage{url: "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), until: until}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	for k, v := range q.byID {
		if now.After(v.until) {
			delete(q.byID, k)
		}
	}
	if len(q.byID) < 4096 {
		q.byID[id] = img
	}
	return img.url, nil
}

// qrPNG draws content as a QR code (error correction M) in a PNG of about size×size pixels,
// black on white, with the four-module quiet zone cameras need.
func qrPNG(content string, size int) ([]byte, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr image: %w", err)
	}
	n := code.Bounds().Dx()
	scale := max(size/(n+8), 1)
	side := (n + 8) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := range n {
		for x := range n {
			if color.GrayModel.Convert(code.At(x, y)).(color.Gray).Y >= 128 {
				continue
			}
			for dy := range scale {
				row := img.Pix[((y+4)*scale+dy)*img.Stride:]
				for dx := range scale {
					row[(x+4)*scale+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr image: %w", err)
	}
	return buf.Bytes(), nil
}
