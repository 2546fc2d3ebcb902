package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/views"
)

// faqShow renders the frequently asked questions.
func (h *handler) faqShow(c echo.Context) error {
	return render(c, http.StatusOK, views.FAQ(views.FAQPage{Page: h.page(c), KnowledgeSuffices: h.cfg.KnowledgeSuffices, QRSignIn: h.cfg.QRSignIn,
		PushApproval: h.cfg.PushApproval}))
}
