package audit

// The catalogue's entries for QR code sign-in (internal/qrsignin): the phone that scanned, approved
// or refused a computer's code, and the computer's sign-in it let in.
var (
	QRClaimed  = declare("qr.claimed", "用手机扫描了电脑上的二维码", "Scanned a computer’s QR code with the phone")
	QRApproved = declare("qr.approved", "在手机上批准了电脑扫码登录", "Approved a computer’s QR code sign-in on the phone")
	QRDenied   = declare("qr.denied", "在手机上拒绝了电脑扫码登录", "Refused a computer’s QR code sign-in on the phone")
	QRNotMe    = declare("qr.not_me", "报告扫码登录不是本人发起，已拒绝，没有人因此登录", "Reported a QR code sign-in as not started by the user; refused, nobody signed in")
	SignInQR   = declare("signin.qr", "扫码登录成功（在已登录的手机上批准）", "Signed in with a QR code (approved on the signed-in phone)")
)
