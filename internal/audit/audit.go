// Package audit is the one catalogue of what can happen to an account: every event type of a
// user's history is declared here once, with what the history says of it in each language. The
// domain writes the rows (Event), inside the transaction of the change they record; the user's
// history page reads the catalogue, and so will the staff audit log, webhooks and metrics.
//
// To add a type, declare it below with both descriptions and write it where the change happens:
//
//	tx.AppendEvent(ctx, audit.FactorAdded.Event(userID, c, now, map[string]string{"kind": f.Kind}))
package audit

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/smsretire/smsretire/internal/i18n"
)

// Type names something that happened to an account, such as "factor.added".
type Type string

// Client is where a request came from: the history records it beside each event, and limits
// count per client.
type Client struct {
	IP        string
	UserAgent string
}

// Event is one entry in a user's history.
type Event struct {
	ID        int64
	UserID    string
	Type      Type
	Detail    map[string]string
	Actor     string // "user" (the default), "system" or "staff:NAME"
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// Event returns the history row of an event of type t about userID, from c, at now.
func (t Type) Event(userID string, c Client, now time.Time, detail map[string]string) Event {
	return Event{UserID: userID, Type: t, Detail: detail, IP: c.IP, UserAgent: c.UserAgent, CreatedAt: now}
}

// entry is one type of the catalogue: its description in each language.
type entry struct {
	text map[string]*template.Template
}

var (
	catalogue = map[Type]entry{}
	declared  []Type
)

// declare adds a type to the catalogue with its description in Chinese and English. The
// descriptions are text/template texts whose blanks ({{.Method}}, {{.Kind}}, {{.To}}) the reader
// fills with the event's details in the same language.
func declare(name, zh, en string) Type {
	t := Type(name)
	if _, dup := catalogue[t]; dup {
		panic("audit: " + name + " declared twice")
	}
	e := entry{text: map[string]*template.Template{}}
	for lang, text := range map[string]string{i18n.Chinese: zh, i18n.English: en} {
		e.text[lang] = template.Must(template.New(name + "." + lang).Option("missingkey=zero").Parse(text))
	}
	catalogue[t] = e
	declared = append(declared, t)
	return t
}

// The catalogue. Each description says what happened ("身份已确认"), never a state machine's
// bookkeeping. Details a description uses: method (how, as the reader names it), kind (factor
// kind), state (the new state's ID: notified, verified, enrolled, retired).
var (
	RosterAdded   = declare("roster.added", "账户加入停用计划", "Account added to the retirement campaign")
	RosterUpdated = declare("roster.updated", "账户信息已更新", "Account details updated")
	NoticeOpened  = declare("notice.opened", "打开了停用通知", "Opened the retirement notice")
	// A partner site opened the portal in its page for the user (internal/partner); detail: partner.
	EmbedOpened = declare("embed.opened", "从合作方网站打开了停用通知", "Opened the retirement notice from a partner site")
	// The roster and the campaign (internal/rollout).
	RosterReturned   = declare("roster.returned", "重新列入名单，回到停用计划", "Named by the roster again; back in the retirement campaign")
	RosterOutOfScope = declare("roster.out_of_scope", "完整名单中已无此账户，移出停用计划（账户与记录保留）", "No longer in the full roster; taken out of the retirement campaign (account and history kept)")
	CampaignNotice   = declare("campaign.notice_sent", "已发送停用通知（{{.Channels}}）", "Retirement notice sent ({{.Channels}})")
	CampaignReminder = declare("campaign.reminder_sent", "{{if eq .Days \"0\"}}已发送截止日提醒{{else}}已发送提醒：距截止还有 {{.Days}} 天{{end}}（{{.Channels}}）",
		"{{if eq .Days \"0\"}}Deadline-day reminder sent{{else}}Reminder sent: {{.Days}} days before the deadline{{end}} ({{.Channels}})")
	CampaignSnoozed  = declare("campaign.snoozed", "选择了稍后提醒：{{.Until}} 再提醒（第 {{.Count}} 次）", "Asked to be reminded later: on {{.Until}} (time {{.Count}})")
	CampaignExempted = declare("campaign.exempted", "免于停用计划：{{.Reason}}", "Exempted from the retirement campaign: {{.Reason}}")
	CampaignRejoined = declare("campaign.exemption_lifted", "取消豁免，重新加入停用计划", "Exemption lifted; back in the retirement campaign")
	// StateChanged comes with the event that caused it (verify.succeeded, factor.added,
	// sms.retired), so the user's own history leaves it out (ShownToUser); staff and webhooks read it.
	StateChanged = declare("state.changed",
		`{{if eq .State "verified"}}身份已确认，可以设置新的验证方式{{else if eq .State "enrolled"}}已设置新的验证方式，短信验证码仍可使用{{else if eq .State "retired"}}停用完成，今后用新的验证方式登录{{else if eq .State "notified"}}已通知停用短信验证{{else}}停用进度已更新{{end}}`,
		`{{if eq .State "verified"}}Identity confirmed; a new method may be set up{{else if eq .State "enrolled"}}New method set up; SMS codes still work{{else if eq .State "retired"}}Retirement done: signs in with the new method from now on{{else if eq .State "notified"}}Told of the SMS retirement{{else}}Retirement progress updated{{end}}`)

	VerifyCodeSent        = declare("verify.code_sent", "已发送{{.Method}}", "Code sent ({{.Method}})")
	VerifyFailed          = declare("verify.failed", "验证未通过（{{.Method}}）", "Verification failed ({{.Method}})")
	VerifyLocked          = declare("verify.locked", "错误次数过多，{{.Method}}已暂停使用", "Too many wrong attempts: {{.Method}} paused for now")
	VerifySucceeded       = declare("verify.succeeded", "身份已确认（{{.Method}}）", "Identity confirmed ({{.Method}})")
	VerifyKnowledgePassed = declare("verify.knowledge_passed", "登记信息核对通过", "Registered details matched")
	AssistIssued          = declare("assist.issued", "客服发放了协助码", "Support issued an assist code")

	FactorAdded             = declare("factor.added", "添加了验证方式：{{.Kind}}", "Method added: {{.Kind}}")
	FactorRenamed           = declare("factor.renamed", "重命名了验证方式", "Method renamed")
	FactorRemoved           = declare("factor.removed", "删除了验证方式：{{.Kind}}", "Method removed: {{.Kind}}")
	SMSRetired              = declare("sms.retired", "短信验证已停用", "SMS verification retired")
	PasskeyCounterRegressed = declare("passkey.counter_regressed", "通行密钥可能被复制：登录已拒绝，这个通行密钥已标记待查", "Passkey may have been copied: sign-in refused and the passkey flagged for a check")
	RecoveryRegenerated     = declare("recovery.regenerated", "重新生成了恢复码", "New recovery codes made")
	RecoveryUsed            = declare("recovery.used", "使用了一个恢复码", "A recovery code was used")

	SignInSucceeded  = declare("signin.succeeded", "登录成功（{{.Method}}）", "Signed in ({{.Method}})")
	SignInFailed     = declare("signin.failed", "登录失败（{{.Method}}）", "Sign-in failed ({{.Method}})")
	SessionEnded     = declare("session.ended", "已退出登录", "Signed out")
	CheckupCompleted = declare("checkup.completed", "已用新的验证方式登录，确认它仍然可用", "Signed in with the new method, confirming it still works")

	// Signing in to the operator's services through the OpenID Connect provider. Details:
	// client (the service's ID; the history shows its name), amr, count and max (reminders).
	OIDCSignedIn     = declare("oidc.signed_in", "登录到 {{.Client}}", "Signed in to {{.Client}}")
	OIDCCodeReplayed = declare("oidc.code_replayed", "发给 {{.Client}} 的登录凭证被重复使用，已作废", "A sign-in credential for {{.Client}} was used twice and has been revoked")
	NudgeShown       = declare("nudge.shown", "登录 {{.Client}} 时看到停用短信验证的提示", "Shown the SMS retirement notice while signing in to {{.Client}}")
	NudgeSetUp       = declare("nudge.set_up", "登录 {{.Client}} 时选择立即设置新的验证方式", "Chose to set up a new method now while signing in to {{.Client}}")
	NudgeLater       = declare("nudge.later", "登录 {{.Client}} 时选择稍后提醒（第 {{.Count}} 次，共可 {{.Max}} 次）", "Chose “remind me later” while signing in to {{.Client}} ({{.Count}} of {{.Max}})")
)

// ShownToUser reports whether the user's own history shows events of type t: all but the state
// changes, each of which comes with the event that says what happened.
func ShownToUser(t Type) bool { return t != StateChanged }

// Types lists every declared type, in the order of the catalogue.
func Types() []Type { return append([]Type(nil), declared...) }

// Known reports whether t is declared.
func Known(t Type) bool {
	_, ok := catalogue[t]
	return ok
}

// Describe says what an event of type t was in lang (Chinese for an unsupported language), with
// data filling the blanks of the description; false when t is not declared.
func Describe(t Type, lang string, data map[string]string) (string, bool) {
	e, ok := catalogue[t]
	if !ok {
		return "", false
	}
	tmpl, ok := e.text[lang]
	if !ok {
		tmpl = e.text[i18n.Chinese]
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return fmt.Sprintf("%s (%v)", t, err), true
	}
	return b.String(), true
}
