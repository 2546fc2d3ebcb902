package audit

// The catalogue's entries for approval from a signed-in phone (internal/approval). Details a
// description uses: reason (denied, wrong, not_me, expired), as written in the row.
var (
	ApprovalEnrolled  = declare("approval.enrolled", "这台设备开启了手机确认登录", "This device can now approve sign-ins")
	ApprovalRemoved   = declare("approval.removed", "一台设备不再用于手机确认登录", "A device no longer approves sign-ins")
	ApprovalRequested = declare("approval.requested", "有人请求用手机确认登录", "Someone asked to sign in with approval on the phone")
	ApprovalApproved  = declare("approval.approved", "在手机上确认了一次登录", "A sign-in was approved on the phone")
	ApprovalDenied    = declare("approval.denied",
		`{{if eq .Reason "wrong"}}手机确认登录未通过：输入的数字不对{{else if eq .Reason "not_me"}}手机确认登录被拒绝：“不是我本人”{{else}}手机确认登录被拒绝{{end}}`,
		`{{if eq .Reason "wrong"}}Sign-in approval failed: the number typed was wrong{{else if eq .Reason "not_me"}}Sign-in approval refused: “this wasn’t me”{{else}}Sign-in approval refused{{end}}`)
	ApprovalSuspended = declare("approval.suspended", "手机确认登录已暂停一小时", "Sign-in approval on the phone paused for an hour")
)
