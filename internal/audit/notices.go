package audit

// The catalogue's entries for contact details, devices and "this wasn't me". Details a description
// uses: field (email or phone, filled in the reader's language as {{.Field}}).
var (
	DeviceNew       = declare("signin.new_device", "在未曾用过的设备上登录，已发送提醒", "Signed in on a device not used before; a notice was sent")
	ContactChanged  = declare("contact.changed", "更改了{{.Field}}", "Changed the {{.Field}}")
	ContactReverted = declare("contact.reverted", "因“不是我本人”恢复了原来的{{.Field}}", "Put the previous {{.Field}} back after “this wasn’t me”")
	Disavowed       = declare("account.disavowed", "报告“不是我本人”：已退出所有设备，更改已暂停，重新确认身份后恢复", "Reported “this wasn’t me”: signed out everywhere; changes paused until identity is confirmed again")
	Unlocked        = declare("account.unlocked", "重新确认了身份，可以再次更改", "Identity confirmed again; changes allowed again")
)
