package web

import (
	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/views"
)

// approvalContextView names what is asking (approval.Context) in the page language, for the
// approver's page of a QR code or a request on the phone.
func approvalContextView(p views.Page, a approval.Context) views.ApprovalContext {
	return views.ApprovalContext{Device: p.T.Device(a.Browser, a.System), IP: a.IP, Place: a.Place, At: a.At}
}
