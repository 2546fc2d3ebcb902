package web

import "github.com/labstack/echo/v4"

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

	// Enrollment: after a fresh verification (or signed in), add a replacement factor.
	e.GET("/enroll", h.enrollChoose).Name = "enroll.choose"
	e.GET("/enroll/totp", h.enrollTOTPShow).Name = "enroll.totp.show"
	e.POST("/enroll/totp", h.enrollTOTPConfirm).Name = "enroll.totp.confirm"
	e.GET("/enroll/passkey", h.enrollPasskeyShow).Name = "enroll.passkey.show"
	e.POST("/enroll/passkey/options", h.enrollPasskeyOptions).Name = "enroll.passkey.options"
	e.POST("/enroll/passkey/finish", h.enrollPasskeyFinish).Name = "enroll.passkey.finish"
	e.GET("/enroll/email", h.enrollEmailShow).Name = "enroll.email.show"
	e.POST("/enroll/email", h.enrollEmailSend).Name = "enroll.email.send"
	e.POST("/enroll/email/confirm", h.enrollEmailConfirm).Name = "enroll.email.confirm"
	e.POST("/enroll/email/reset", h.enrollEmailReset).Name = "enroll.email.reset"
	e.GET("/enroll/recovery", h.enrollRecoveryShow).Name = "enroll.recovery.show"
	e.GET("/enroll/recovery.txt", h.enrollRecoveryText).Name = "enroll.recovery.text"
	e.POST("/enroll/recovery/done", h.enrollRecoveryDone).Name = "enroll.recovery.done"
	e.GET("/enroll/done", h.enrollDone).Name = "enroll.done"

	// Sign in again with a new factor.
	e.GET("/signin", h.signInShow).Name = "signin.show"
	e.POST("/signin/totp", h.signInTOTP).Name = "signin.totp"
	e.POST("/signin/email/send", h.signInEmailSend).Name = "signin.email.send"
	e.POST("/signin/email/check", h.signInEmailCheck).Name = "signin.email.check"
	e.POST("/signin/recovery", h.signInRecovery).Name = "signin.recovery"
	e.POST("/signin/passkey/options", h.signInPasskeyOptions).Name = "signin.passkey.options"
	e.POST("/signin/passkey/finish", h.signInPasskeyFinish).Name = "signin.passkey.finish"
	e.POST("/signout", h.signOut).Name = "signout"

	// Signed in: My security.
	e.GET("/security", h.securityShow).Name = "security.show"
	e.POST("/security/factors/:id/rename", h.securityFactorRename).Name = "security.factor.rename"
	e.POST("/security/factors/:id/remove", h.securityFactorRemove).Name = "security.factor.remove"
	e.POST("/security/recovery/regenerate", h.securityRecoveryRegenerate).Name = "security.recovery.regenerate"
	e.POST("/security/sessions/end", h.securitySessionEnd).Name = "security.sessions.end"
	e.POST("/security/sessions/end-others", h.securitySessionsEndOthers).Name = "security.sessions.end_others"

	// Dev: only with --demo, where messages are not sent and codes are read here.
	if h.cfg.Demo && h.app.Devbox != nil {
		e.GET("/dev/outbox", h.devOutboxShow).Name = "dev.outbox"
	}

	// Ops: probes and static files.
	e.GET("/healthz", h.healthz).Name = "healthz"
	e.GET("/readyz", h.readyz).Name = "readyz"
	e.GET("/static/*", echo.WrapHandler(staticServe(h.assets))).Name = "static"
}
