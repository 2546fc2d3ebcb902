package audit

// The catalogue's entries for what support staff do to an account in the console
// (internal/support). The staff audit log records who did it and why; the user's history says
// what happened. Details a description uses: channels (as campaign.notice_sent), method (the
// method whose pause ended), until (the new deadline, YYYY-MM-DD).
var (
	SupportNoticeResent   = declare("support.notice_resent", "客服重新发送了停用通知（{{.Channels}}）", "Support sent the retirement notice again ({{.Channels}})")
	SupportUnlocked       = declare("support.unlocked", "客服解除了{{.Method}}的暂停", "Support ended the pause on {{.Method}}")
	SupportFactorsReset   = declare("support.factors_reset", "客服重置了验证方式：已退出所有设备，需要重新确认身份并设置新的验证方式", "Support reset the methods: signed out everywhere; identity must be confirmed again and a new method set up")
	SupportDeadline       = declare("support.deadline_extended", "客服将截止日期延长到 {{.Until}}", "Support extended the deadline to {{.Until}}")
	SupportMessageRetried = declare("support.message_retried", "客服重新发送了一条未能送达的消息", "Support sent a message that could not be delivered again")
)
