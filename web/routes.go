package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/static"
)

// routes lists every URL of the portal.
func (h *handler) routes(e *echo.Echo) {
	// Public: anyone may open these.
	e.GET("/", h.homeShow).Name = "home"
	e.POST("/find", h.accountFind).Name = "account.find"
	e.GET("/notice/:token", h.noticeShow).Name = "notice.show"
	e.GET("/faq", h.faqShow).Name = "faq"
	e.POST("/lang", h.langSet).Name = "lang.set"

	// Ops: probes and static files.
	e.GET("/healthz", h.healthz).Name = "healthz"
	e.GET("/readyz", h.readyz).Name = "readyz"
	e.GET("/static/*", echo.WrapHandler(staticHandler(http.FileServerFS(static.FS())))).Name = "static"
}
