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

	// Verification: the account was named by a notice link or a look-up; nothing changes yet.
	e.GET("/verify", h.verifyChoose).Name = "verify.choose"
	e.POST("/verify/code/send", h.verifyCodeSend).Name = "verify.code.send"
	e.GET("/verify/code", h.verifyCodeShow).Name = "verify.code.show"
	e.POST("/verify/code/check", h.verifyCodeCheck).Name = "verify.code.check"
	e.GET("/verify/knowledge", h.verifyKnowledgeShow).Name = "verify.knowledge.show"
	e.POST("/verify/knowledge", h.verifyKnowledgeCheck).Name = "verify.knowledge.check"
	e.GET("/verify/assist", h.verifyAssistShow).Name = "verify.assist.show"
	e.POST("/verify/assist", h.verifyAssistCheck).Name = "verify.assist.check"
	e.GET("/verify/done", h.verifyDone).Name = "verify.done"

	// Dev: only with --demo, where messages are not sent and codes are read here.
	if h.cfg.Demo && h.devbox != nil {
		e.GET("/dev/outbox", h.devOutboxShow).Name = "dev.outbox"
	}

	// Ops: probes and static files.
	e.GET("/healthz", h.healthz).Name = "healthz"
	e.GET("/readyz", h.readyz).Name = "readyz"
	e.GET("/static/*", echo.WrapHandler(staticHandler(http.FileServerFS(static.FS())))).Name = "static"
}
