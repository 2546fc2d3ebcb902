package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/session"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/views"
)

// routes lists every URL of the portal, by group. A group's guard decides who may call its
// routes and puts whom they act for on the context; its headers apply to its responses. Each
// route has a name (views.Route…) that handlers and pages use instead of its path.
func (h *handler) routes(e *echo.Echo) {
	// Public: anyone may open these.
	public := newGroup(e, "")
	public.get("/", views.RouteHome, h.homeShow)
	public.post("/find", views.RouteAccountFind, h.accountFind)
	public.get("/notice/:token", views.RouteNoticeShow, h.noticeShow)
	public.get("/faq", views.RouteFAQ, h.faqShow)
	public.post("/lang", views.RouteLangSet, h.langSet)
	public.get("/privacy", views.RoutePrivacy, h.privacyShow)

	// "This wasn't me": the link of a security email asks first (mail scanners open links), then
	// signs the account out everywhere and locks changes. The token is the authority.
	public.get("/not-me/done", views.RouteNotMeDone, h.notMeDone)
	public.get("/not-me/:token", views.RouteNotMeShow, h.notMeShow)
	public.post("/not-me/:token", views.RouteNotMeConfirm, h.notMeConfirm)

	// Embedded in a partner's site (embed.go): the partner's signed launch starts an embedded
	// session, and the journey's groups below marked embedded run again under /embed/:partner,
	// framed by that partner's origins only, with the embedded cookie.
	h.embed = newGroup(e, "/embed/:partner", h.embedded, h.requireEmbed)
	h.embed.twins = &h.twins
	launch := newGroup(e, "/embed", h.embedFor(func(c echo.Context) string { return c.QueryParam("partner") }))
	launch.get("/launch", views.RouteEmbedLaunch, h.embedLaunch)
	h.embed.get("/notice", views.RouteEmbedNotice, h.embedNotice)
	h.embed.get("/enroll/passkey/status", views.RouteEmbedPasskeyStatus, h.embedPasskeyStatus)
	// A browser that refuses passkeys in a frame makes one in a window of its own, which the
	// frame's signed, single-use link opens with the frame's verification.
	public.get("/enroll/window/:token", views.RouteEnrollWindow, h.enrollWindow)
	embedBrand := newGroup(e, "/embed/:partner", h.embedded) // before any session: the launch's refusals show them
	embedBrand.get("/logo", views.RouteEmbedLogo, h.embedLogo)
	embedBrand.get("/brand.css", views.RouteEmbedBrand, h.embedBrand)

	// The notice's "remind me later": for the account a notice link named.
	notice := newGroup(e, "/notice", h.requireSubject).embedded(h.embed)
	notice.post("/snooze", views.RouteNoticeSnooze, h.noticeSnooze)
	notice.get("/snoozed", views.RouteNoticeSnoozed, h.noticeSnoozed)

	// Verification: a notice link or a look-up named the account; nothing changes yet.
	verify := newGroup(e, "/verify", h.requireSubject).embedded(h.embed)
	verify.get("", views.RouteVerifyChoose, h.verifyChoose)
	verify.post("/code/send", views.RouteVerifyCodeSend, h.verifyCodeSend)
	verify.get("/code", views.RouteVerifyCodeShow, h.verifyCodeShow)
	verify.get("/code/delivery", views.RouteVerifyCodeDelivery, h.verifyCodeDelivery)
	verify.post("/code/check", views.RouteVerifyCodeCheck, h.verifyCodeCheck)
	verify.get("/knowledge", views.RouteVerifyKnowledgeShow, h.verifyKnowledgeShow)
	verify.post("/knowledge", views.RouteVerifyKnowledgeCheck, h.verifyKnowledgeCheck)
	verify.get("/assist", views.RouteVerifyAssistShow, h.verifyAssistShow)
	verify.post("/assist", views.RouteVerifyAssistCheck, h.verifyAssistCheck)

	// Verified: this browser verified the user's identity; the grant allows the first enrollment.
	verified := newGroup(e, "/verify", h.requireGrant).embedded(h.embed)
	verified.get("/done", views.RouteVerifyDone, h.verifyDone)

	// Enrollment: after a verification in this browser, or signed in within the step-up window.
	enroll := newGroup(e, "/enroll", h.requireEnroller(false, h.needVerify), h.requireUnlocked).embedded(h.embed)
	enroll.get("/totp", views.RouteEnrollTOTPShow, h.enrollTOTPShow)
	enroll.post("/totp", views.RouteEnrollTOTPConfirm, h.enrollTOTPConfirm)
	enroll.get("/passkey", views.RouteEnrollPasskeyShow, h.enrollPasskeyShow)
	enroll.get("/email", views.RouteEnrollEmailShow, h.enrollEmailShow, h.emailFactorOn)
	enroll.post("/email", views.RouteEnrollEmailSend, h.enrollEmailSend, h.emailFactorOn)
	enroll.post("/email/confirm", views.RouteEnrollEmailConfirm, h.enrollEmailConfirm, h.emailFactorOn)
	enroll.post("/email/reset", views.RouteEnrollEmailReset, h.enrollEmailReset, h.emailFactorOn)
	// The passkey ceremony's requests from static/js/passkey.js, refused in JSON.
	passkeyAPI := newGroup(e, "/enroll/passkey", h.requireEnroller(false, h.needVerifyJSON), h.requireUnlocked).embedded(h.embed)
	passkeyAPI.post("/options", views.RouteEnrollPasskeyOptions, h.enrollPasskeyOptions)
	passkeyAPI.post("/finish", views.RouteEnrollPasskeyFinish, h.enrollPasskeyFinish)
	// The end of an enrollment, also for the user whose verification the first factor used up.
	enrolled := newGroup(e, "/enroll", h.requireEnroller(true, h.needVerify)).embedded(h.embed)
	// The list of methods, also to go back to from the recovery codes; adding one from it needs
	// the live verification or a fresh sign-in (the group above).
	enrolled.get("", views.RouteEnrollChoose, h.enrollChoose)
	enrolled.get("/recovery", views.RouteEnrollRecoveryShow, h.enrollRecoveryShow)
	enrolled.get("/recovery.txt", views.RouteEnrollRecoveryText, h.enrollRecoveryText)
	enrolled.post("/recovery/done", views.RouteEnrollRecoveryDone, h.enrollRecoveryDone)
	enrolled.get("/done", views.RouteEnrollDone, h.enrollDone)

	// Sign in again with a new factor, and sign out: anyone.
	signin := newGroup(e, "/signin")
	signin.get("", views.RouteSignInShow, h.signInShow)
	signin.post("/account", views.RouteSignInAccount, h.signInAccount)
	signin.post("/forget", views.RouteSignInForget, h.signInForget)
	signin.post("/totp", views.RouteSignInTOTP, h.signInTOTP)
	signin.post("/email/send", views.RouteSignInEmailSend, h.signInEmailSend)
	signin.post("/email/check", views.RouteSignInEmailCheck, h.signInEmailCheck)
	signin.post("/recovery", views.RouteSignInRecovery, h.signInRecovery)
	signin.post("/passkey/options", views.RouteSignInPasskeyOptions, h.signInPasskeyOptions)
	signin.post("/passkey/finish", views.RouteSignInPasskeyFinish, h.signInPasskeyFinish)
	public.post("/signout", views.RouteSignOut, h.signOut)
	// QR code sign-in (--qr-signin): the computer shows a code that only it, by its binding
	// cookie, may watch and complete; BASE_URL/qr/{id} is the phone's, where the user is signed in
	// (within the last 15 minutes) and approves.
	if h.cfg.QRSignIn {
		signin.post("/qr", views.RouteSignInQRStart, h.signInQRStart)
		signin.get("/qr", views.RouteSignInQRShow, h.signInQRShow)
		signin.get("/qr/status", views.RouteSignInQRStatus, h.signInQRStatus)
		signin.post("/qr/complete", views.RouteSignInQRComplete, h.signInQRComplete)
		signin.post("/qr/cancel", views.RouteSignInQRCancel, h.signInQRCancel)
		approver := newGroup(e, "/qr/:id", h.requireQRApprover)
		approver.get("", views.RouteQRShow, h.qrShow)
		approver.post("/claim", views.RouteQRClaim, h.qrClaim)
		approver.post("/approve", views.RouteQRApprove, h.qrApprove)
		approver.post("/deny", views.RouteQRDeny, h.qrDeny)
	}

	// Sign in by approval on a signed-in phone (--push-approval). The desktop's steps: the binding
	// cookie decides who may read the state or complete. The approver's: a signed-in session that
	// My security enrolled (every page of it polls /approve/pending). Enrolling needs a step-up.
	signin.post("/approval", views.RouteSignInApprovalStart, h.signInApprovalStart, h.pushApprovalOn)
	signin.get("/approval", views.RouteSignInApprovalShow, h.signInApprovalShow, h.pushApprovalOn)
	signin.get("/approval/status", views.RouteSignInApprovalStatus, h.signInApprovalStatus, h.pushApprovalOn)
	signin.post("/approval/complete", views.RouteSignInApprovalComplete, h.signInApprovalComplete, h.pushApprovalOn)
	newGroup(e, app.ApprovePath, h.pushApprovalOn).get("/pending", views.RouteApprovePending, h.approvePending) // empty unless an approver asks
	approve := newGroup(e, app.ApprovePath, h.pushApprovalOn, h.requireSession(session.User))
	approve.get("/:id", views.RouteApproveShow, h.approveShow)
	approve.post("/:id", views.RouteApproveAnswer, h.approveAnswer)
	approver := newGroup(e, "/security", h.pushApprovalOn, h.requireSession(session.User))
	approver.post("/approver", views.RouteSecurityApproverAdd, h.securityApproverAdd, h.requireFresh, h.requireUnlocked)
	approver.post("/approver/remove", views.RouteSecurityApproverRemove, h.securityApproverRemove)
	approver.post("/push/subscribe", views.RouteSecurityPushSubscribe, h.securityPushSubscribe)
	approver.post("/push/unsubscribe", views.RouteSecurityPushUnsubscribe, h.securityPushUnsubscribe)
	// The installable web app: its manifest, and the service worker that shows notifications.
	public.get("/manifest.webmanifest", views.RouteManifest, h.manifest)
	public.get("/sw.js", views.RouteServiceWorker, h.serviceWorker)

	// Signed in: My security. Sensitive changes need an authentication within the step-up window,
	// and none is allowed while a "this wasn't me" locks the account's changes.
	security := newGroup(e, "/security", h.requireSession(session.User))
	security.get("", views.RouteSecurityShow, h.securityShow)
	security.post("/factors/:id/rename", views.RouteSecurityFactorRename, h.securityFactorRename, h.requireFresh, h.requireUnlocked)
	security.post("/factors/:id/remove", views.RouteSecurityFactorRemove, h.securityFactorRemove, h.requireFresh, h.requireUnlocked)
	security.post("/recovery/regenerate", views.RouteSecurityRecoveryRegenerate, h.securityRecoveryRegenerate, h.requireFresh, h.requireUnlocked)
	security.post("/sessions/end", views.RouteSecuritySessionsEnd, h.securitySessionEnd)
	security.post("/sessions/end-others", views.RouteSecuritySessionsEndOthers, h.securitySessionsEndOthers)
	security.post("/verify", views.RouteSecurityVerify, h.securityVerify)
	// Contact details: a code to the new address or number confirms it.
	contact := newGroup(e, "/security", h.requireSession(session.User), h.requireFresh, h.requireUnlocked)
	contact.get("/email", views.RouteSecurityEmailShow, h.contactEmailShow)
	contact.post("/email", views.RouteSecurityEmailSend, h.contactEmailSend)
	contact.post("/email/confirm", views.RouteSecurityEmailConfirm, h.contactEmailConfirm)
	contact.post("/email/reset", views.RouteSecurityEmailReset, h.contactEmailReset)
	contact.get("/phone", views.RouteSecurityPhoneShow, h.contactPhoneShow)
	contact.post("/phone", views.RouteSecurityPhoneSend, h.contactPhoneSend)
	contact.post("/phone/confirm", views.RouteSecurityPhoneConfirm, h.contactPhoneConfirm)
	contact.post("/phone/reset", views.RouteSecurityPhoneReset, h.contactPhoneReset)

	// Prepared for what comes next; add routes to these groups:
	//  - staff: the support console, for active staff members signed in with a staff session (its
	//    own kind, lifetimes and cookie); the guard puts the session and the member (staffOf) on
	//    the context. Each route names the action it takes, which the member's role must allow:
	//    h.staff.get("/users/:id", views.RouteStaffUserShow, h.staffUserShow, h.requireStaff(staff.ActionView))
	//  - oidc: sign-in for other services (OpenID Connect endpoints): public, and each endpoint
	//    checks its client itself, as the protocol says.
	h.staff = newGroup(e, "/staff", h.requireStaffMember)
	// The staff console's way in: anyone may open these. A setup link's token is its authority.
	staffPublic := newGroup(e, "/staff")
	staffPublic.get("/signin", views.RouteStaffSignInShow, h.staffSignInShow)
	staffPublic.post("/signin", views.RouteStaffSignInTOTP, h.staffSignInTOTP)
	staffPublic.post("/signout", views.RouteStaffSignOut, h.staffSignOut)
	staffPublic.get("/setup/:token", views.RouteStaffSetupShow, h.staffSetupShow)
	staffPublic.post("/setup/:token", views.RouteStaffSetupTOTP, h.staffSetupTOTP)
	// The staff's passkey ceremonies, in JSON for static/js/passkey.js.
	staffPublic.post("/setup/:token/passkey/options", views.RouteStaffSetupPasskeyOptions, h.staffSetupPasskeyOptions)
	staffPublic.post("/setup/:token/passkey/finish", views.RouteStaffSetupPasskeyFinish, h.staffSetupPasskeyFinish)
	staffPublic.post("/signin/passkey/options", views.RouteStaffSignInPasskeyOptions, h.staffSignInPasskeyOptions)
	staffPublic.post("/signin/passkey/finish", views.RouteStaffSignInPasskeyFinish, h.staffSignInPasskeyFinish)
	// Sign-in through the company's OpenID Connect provider, where one is configured.
	if h.app.StaffSSO != nil {
		staffPublic.get("/signin/sso", views.RouteStaffSSOStart, h.staffSSOStart)
		staffPublic.get("/signin/sso/callback", views.RouteStaffSSOCallback, h.staffSSOCallback)
	}
	// Any signed-in staff member: the console's start.
	h.staff.get("", views.RouteStaffHome, h.staffHome)
	// Staff administration: admins only.
	h.staff.get("/admin/staff", views.RouteStaffAdminList, h.staffAdminList, h.requireStaff(staff.ActionManageStaff))
	h.staff.post("/admin/staff", views.RouteStaffAdminAdd, h.staffAdminAdd, h.requireStaff(staff.ActionManageStaff))
	h.staff.post("/admin/staff/:id/link", views.RouteStaffAdminLink, h.staffAdminLink, h.requireStaff(staff.ActionManageStaff))
	h.staff.post("/admin/staff/:id/disable", views.RouteStaffAdminDisable, h.staffAdminDisable, h.requireStaff(staff.ActionManageStaff))
	h.staff.post("/admin/sessions/:id/end", views.RouteStaffAdminSessionEnd, h.staffAdminSessionEnd, h.requireStaff(staff.ActionEndStaffSessions))
	// The support console (internal/support): each route names the action the role must allow.
	// Actions on a user post a reason; resetting the methods asks to confirm on a page first.
	h.staff.get("/dashboard", views.RouteConsoleDashboard, h.consoleDashboard, h.requireStaff(staff.ActionDashboard))
	h.staff.get("/users", views.RouteConsoleSearchShow, h.consoleSearchShow, h.requireStaff(staff.ActionSearch))
	h.staff.post("/users", views.RouteConsoleSearch, h.consoleSearch, h.requireStaff(staff.ActionSearch))
	h.staff.get("/users/:id", views.RouteConsoleUser, h.consoleUserShow, h.requireStaff(staff.ActionView))
	h.staff.post("/users/:id/notice", views.RouteConsoleNotice, h.consoleNotice, h.requireStaff(staff.ActionResendNotice))
	h.staff.post("/users/:id/assist", views.RouteConsoleAssist, h.consoleAssist, h.requireStaff(staff.ActionIssueAssist))
	h.staff.post("/users/:id/messages/:msg/retry", views.RouteConsoleRetry, h.consoleRetry, h.requireStaff(staff.ActionRetryMessage))
	h.staff.post("/users/:id/unlock", views.RouteConsoleUnlock, h.consoleUnlock, h.requireStaff(staff.ActionUnlock))
	h.staff.get("/users/:id/reset", views.RouteConsoleResetShow, h.consoleResetShow, h.requireStaff(staff.ActionResetFactors))
	h.staff.post("/users/:id/reset", views.RouteConsoleReset, h.consoleReset, h.requireStaff(staff.ActionResetFactors))
	h.staff.post("/users/:id/deadline", views.RouteConsoleDeadline, h.consoleDeadline, h.requireStaff(staff.ActionExtendDeadline))
	h.staff.get("/audit", views.RouteConsoleAudit, h.consoleAudit, h.requireStaff(staff.ActionViewAudit))
	h.staff.get("/audit.csv", views.RouteConsoleAuditCSV, h.consoleAuditCSV, h.requireStaff(staff.ActionExport))
	h.oidc = newGroup(e, app.OIDCPath)
	if h.app.Provider != nil {
		// OpenID Connect for the operator's services (internal/provider). The protocol's endpoints
		// are the library's; the authorization request and the callback are checked here first
		// (client, exact redirect URI, PKCE S256, this browser). The token, userinfo and revocation
		// endpoints are called by services' servers and skip the CSRF check (headers.go).
		lib := echo.HandlerFunc(h.oidcLibrary)
		h.oidc.get("/.well-known/openid-configuration", views.RouteOIDCDiscovery, h.oidcDiscovery)
		h.oidc.get("/keys", views.RouteOIDCKeys, lib)
		h.oidc.get("/authorize", views.RouteOIDCAuthorize, h.oidcAuthorize)
		h.oidc.get("/authorize/callback", views.RouteOIDCCallback, h.oidcCallback)
		h.oidc.post("/oauth/token", views.RouteOIDCToken, h.oidcToken)
		h.oidc.get("/userinfo", views.RouteOIDCUserinfo, lib)
		h.oidc.post("/userinfo", views.RouteOIDCUserinfo+".post", lib)
		h.oidc.post("/revoke", views.RouteOIDCRevoke, lib)
		h.oidc.get("/end_session", views.RouteOIDCEndSession, h.oidcEndSession)
		// The login step: sign in with a new factor for the service, or meet the notice first.
		h.oidc.get("/login", views.RouteOIDCLogin, h.oidcLogin)
		h.oidc.post("/login/cancel", views.RouteOIDCCancel, h.oidcCancel)
		h.oidc.get("/nudge/:id", views.RouteOIDCNudge, h.oidcNudge)
		h.oidc.post("/nudge/setup", views.RouteOIDCNudgeSetUp, h.oidcNudgeSetUp)
		h.oidc.post("/nudge/later", views.RouteOIDCNudgeLater, h.oidcNudgeLater)
		// Back from the SMS code of "remind me later": a verified identity.
		laterDone := newGroup(e, app.OIDCPath, h.requireGrant)
		laterDone.get("/later", views.RouteOIDCLaterDone, h.oidcLaterDone)
	}

	// Dev: only with --demo, where messages are not sent and codes are read here.
	if h.cfg.Demo && h.app.Devbox != nil {
		dev := newGroup(e, "/dev")
		dev.get("/outbox", views.RouteDevOutbox, h.devOutboxShow)
	}

	// Ops: probes and static files.
	public.get("/healthz", views.RouteHealthz, h.healthz)
	public.get("/readyz", views.RouteReadyz, h.readyz)
	public.get("/static/*", views.RouteStatic, echo.WrapHandler(staticServe(h.assets, "/static/")))
}

// group is a set of routes under one path prefix with the middleware every one of them runs
// behind: a guard, headers. Unlike Echo's Group.Use, it adds no catch-all route, so a path no
// route matches gets the site's 404 and not the group's guard.
type group struct {
	e      *echo.Echo
	prefix string
	mw     []echo.MiddlewareFunc
	twin   *group      // the embed group, when the group's routes are also embedded (embed.go)
	twins  *embedTwins // on the embed group: the routes embedded in it
}

func newGroup(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) *group {
	return &group{e: e, prefix: prefix, mw: mw}
}

func (g *group) get(path, name string, fn echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	g.add(http.MethodGet, path, name, fn, mw)
}

func (g *group) post(path, name string, fn echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	g.add(http.MethodPost, path, name, fn, mw)
}

func (g *group) add(method, path, name string, fn echo.HandlerFunc, mw []echo.MiddlewareFunc) {
	all := append(append([]echo.MiddlewareFunc(nil), g.mw...), mw...)
	g.e.Add(method, g.prefix+path, fn, all...).Name = name
	if g.twin != nil {
		embedded := append(append([]echo.MiddlewareFunc(nil), g.twin.mw...), all...)
		g.e.Add(method, g.twin.prefix+g.prefix+path, fn, embedded...).Name = views.EmbedRoute(name)
		g.twin.twins.add(name, g.prefix+path)
	}
}
