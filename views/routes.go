package views

// Route names. web/routes.go gives every route one of these names; handlers redirect to a route
// by its name and pages link to one with Page.URL, so each path is written once, in routes.go.
const (
	RouteHome        = "home"
	RouteAccountFind = "account.find"
	RouteNoticeShow  = "notice.show" // :token
	// "Remind me later" on the notice, and its confirmation.
	RouteNoticeSnooze  = "notice.snooze"
	RouteNoticeSnoozed = "notice.snoozed"
	RouteFAQ           = "faq"
	RouteLangSet       = "lang.set"
	RoutePrivacy       = "privacy"

	RouteVerifyChoose         = "verify.choose"
	RouteVerifyCodeSend       = "verify.code.send"
	RouteVerifyCodeShow       = "verify.code.show"
	RouteVerifyCodeDelivery   = "verify.code.delivery"
	RouteVerifyCodeCheck      = "verify.code.check"
	RouteVerifyKnowledgeShow  = "verify.knowledge.show"
	RouteVerifyKnowledgeCheck = "verify.knowledge.check"
	RouteVerifyAssistShow     = "verify.assist.show"
	RouteVerifyAssistCheck    = "verify.assist.check"
	RouteVerifyDone           = "verify.done"

	RouteEnrollChoose         = "enroll.choose"
	RouteEnrollTOTPShow       = "enroll.totp.show"
	RouteEnrollTOTPConfirm    = "enroll.totp.confirm"
	RouteEnrollPasskeyShow    = "enroll.passkey.show"
	RouteEnrollPasskeyOptions = "enroll.passkey.options"
	RouteEnrollPasskeyFinish  = "enroll.passkey.finish"
	RouteEnrollEmailShow      = "enroll.email.show"
	RouteEnrollEmailSend      = "enroll.email.send"
	RouteEnrollEmailConfirm   = "enroll.email.confirm"
	RouteEnrollEmailReset     = "enroll.email.reset"
	RouteEnrollRecoveryShow   = "enroll.recovery.show"
	RouteEnrollRecoveryText   = "enroll.recovery.text"
	RouteEnrollRecoveryDone   = "enroll.recovery.done"
	RouteEnrollDone           = "enroll.done"

	RouteSignInShow           = "signin.show"
	RouteSignInAccount        = "signin.account"
	RouteSignInForget         = "signin.forget"
	RouteSignInTOTP           = "signin.totp"
	RouteSignInEmailSend      = "signin.email.send"
	RouteSignInEmailCheck     = "signin.email.check"
	RouteSignInRecovery       = "signin.recovery"
	RouteSignInPasskeyOptions = "signin.passkey.options"
	RouteSignInPasskeyFinish  = "signin.passkey.finish"
	RouteSignOut              = "signout"
	// QR code sign-in: the computer's page, and the phone's (:id, the code's id).
	RouteSignInQRStart    = "signin.qr.start"
	RouteSignInQRShow     = "signin.qr.show"
	RouteSignInQRStatus   = "signin.qr.status"
	RouteSignInQRComplete = "signin.qr.complete"
	RouteSignInQRCancel   = "signin.qr.cancel"
	RouteQRShow           = "qr.show"    // :id
	RouteQRClaim          = "qr.claim"   // :id
	RouteQRApprove        = "qr.approve" // :id
	RouteQRDeny           = "qr.deny"    // :id

	RouteSecurityShow               = "security.show"
	RouteSecurityFactorRename       = "security.factor.rename" // :id
	RouteSecurityFactorRemove       = "security.factor.remove" // :id
	RouteSecurityRecoveryRegenerate = "security.recovery.regenerate"
	RouteSecuritySessionsEnd        = "security.sessions.end"
	RouteSecuritySessionsEndOthers  = "security.sessions.end_others"
	RouteSecurityVerify             = "security.verify"
	RouteSecurityEmailShow          = "security.email.show"
	RouteSecurityEmailSend          = "security.email.send"
	RouteSecurityEmailConfirm       = "security.email.confirm"
	RouteSecurityEmailReset         = "security.email.reset"
	RouteSecurityPhoneShow          = "security.phone.show"
	RouteSecurityPhoneSend          = "security.phone.send"
	RouteSecurityPhoneConfirm       = "security.phone.confirm"
	RouteSecurityPhoneReset         = "security.phone.reset"

	// Sign-in by approval on a signed-in phone (--push-approval): the desktop's steps, the
	// approver's, My security's, and the installable web app with its service worker.
	RouteSignInApprovalStart     = "signin.approval.start"
	RouteSignInApprovalShow      = "signin.approval.show"
	RouteSignInApprovalStatus    = "signin.approval.status"
	RouteSignInApprovalComplete  = "signin.approval.complete"
	RouteApprovePending          = "approve.pending"
	RouteApproveShow             = "approve.show"   // :id
	RouteApproveAnswer           = "approve.answer" // :id
	RouteSecurityApproverAdd     = "security.approver.add"
	RouteSecurityApproverRemove  = "security.approver.remove"
	RouteSecurityPushSubscribe   = "security.push.subscribe"
	RouteSecurityPushUnsubscribe = "security.push.unsubscribe"
	RouteManifest                = "pwa.manifest"
	RouteServiceWorker           = "pwa.service_worker"

	RouteNotMeShow    = "notme.show"    // :token
	RouteNotMeConfirm = "notme.confirm" // :token
	RouteNotMeDone    = "notme.done"

	RouteOIDCDiscovery  = "oidc.discovery"
	RouteOIDCKeys       = "oidc.keys"
	RouteOIDCAuthorize  = "oidc.authorize"
	RouteOIDCCallback   = "oidc.callback"
	RouteOIDCToken      = "oidc.token"
	RouteOIDCUserinfo   = "oidc.userinfo"
	RouteOIDCRevoke     = "oidc.revoke"
	RouteOIDCEndSession = "oidc.end_session"
	RouteOIDCLogin      = "oidc.login"
	RouteOIDCCancel     = "oidc.cancel"
	RouteOIDCNudge      = "oidc.nudge"
	RouteOIDCNudgeSetUp = "oidc.nudge.set_up"
	RouteOIDCNudgeLater = "oidc.nudge.later"
	RouteOIDCLaterDone  = "oidc.later.done"

	// Embedded in a partner's site: the launch, the notice, the partner's logo and colour. The
	// journey's routes are embedded too, each named EmbedRoute(its name).
	RouteEmbedLaunch = "embed.launch"
	RouteEmbedNotice = "embed.notice" // :partner
	RouteEmbedLogo   = "embed.logo"   // :partner
	RouteEmbedBrand  = "embed.brand"  // :partner
	// A passkey made in a window of its own: the window's way in, and whether the frame may move on.
	RouteEmbedPasskeyStatus = "embed.passkey.status" // :partner
	RouteEnrollWindow       = "enroll.window"        // :token

	// The support staff console (the staff group).
	RouteStaffHome                 = "staff.home"
	RouteStaffSignInShow           = "staff.signin.show"
	RouteStaffSignInTOTP           = "staff.signin.totp"
	RouteStaffSSOStart             = "staff.signin.sso"
	RouteStaffSSOCallback          = "staff.signin.sso.callback"
	RouteStaffSignOut              = "staff.signout"
	RouteStaffSetupShow            = "staff.setup.show"            // :token
	RouteStaffSetupTOTP            = "staff.setup.totp"            // :token
	RouteStaffSetupPasskeyOptions  = "staff.setup.passkey.options" // :token
	RouteStaffSetupPasskeyFinish   = "staff.setup.passkey.finish"  // :token
	RouteStaffSignInPasskeyOptions = "staff.signin.passkey.options"
	RouteStaffSignInPasskeyFinish  = "staff.signin.passkey.finish"
	RouteStaffAdminList            = "staff.admin.list"
	RouteStaffAdminAdd             = "staff.admin.add"
	RouteStaffAdminLink            = "staff.admin.link"        // :id
	RouteStaffAdminDisable         = "staff.admin.disable"     // :id
	RouteStaffAdminSessionEnd      = "staff.admin.session.end" // :id

	// The support console (the staff group; internal/support).
	RouteConsoleDashboard  = "console.dashboard"
	RouteConsoleSearchShow = "console.search.show"
	RouteConsoleSearch     = "console.search"
	RouteConsoleUser       = "console.user"       // :id
	RouteConsoleNotice     = "console.notice"     // :id
	RouteConsoleAssist     = "console.assist"     // :id
	RouteConsoleUnlock     = "console.unlock"     // :id
	RouteConsoleResetShow  = "console.reset.show" // :id
	RouteConsoleReset      = "console.reset"      // :id
	RouteConsoleDeadline   = "console.deadline"   // :id
	RouteConsoleRetry      = "console.retry"      // :id, :msg
	RouteConsoleAudit      = "console.audit"
	RouteConsoleAuditCSV   = "console.audit.csv"

	RouteDevOutbox = "dev.outbox"
	RouteHealthz   = "healthz"
	RouteReadyz    = "readyz"
	RouteStatic    = "static"
)

// EmbedRoute is the name of the embedded twin of a journey's route, which takes the partner's ID
// first: EmbedRoute(RouteVerifyChoose) is served at /embed/:partner/verify.
func EmbedRoute(name string) string { return "embed." + name }
