package i18n

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// Every message of every catalogue — pages, email and text messages — uses the glossary's term
// for each thing, in both languages, never a variant it lists to avoid.
func TestCatalogs_UseTheGlossary(t *testing.T) {
	terms, err := Glossary()
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) < 10 {
		t.Fatalf("only %d terms", len(terms))
	}
	for _, lang := range Languages {
		msgs, err := Messages(lang)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) < 100 {
			t.Fatalf("only %d messages in %s", len(msgs), lang)
		}
		for _, id := range sortedKeys(msgs) {
			for _, m := range Misused(terms, lang, msgs[id]) {
				area, key, _ := strings.Cut(id, "|")
				t.Errorf("%s.%s.toml %s: %s in %q", area, lang, key, m, msgs[id])
			}
		}
	}
}

// The glossary is whole: every term in both languages, and no term listed among its own variants.
func TestGlossary_IsWhole(t *testing.T) {
	terms, err := Glossary()
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range terms {
		if term.ZH == "" || term.EN == "" {
			t.Errorf("term %+v lacks a language", term)
		}
		for _, a := range term.ZHAvoid {
			if strings.Contains(term.ZH, a) && !strings.Contains(strings.ReplaceAll(term.ZH, a, ""), a) && a == term.ZH {
				t.Errorf("%s avoids itself", term.ZH)
			}
		}
	}
}

// The check finds what the issue found: 认证器应用 on pages while email said 身份验证器应用; and it
// does not mistake the term, or an app's name, for a variant.
func TestMisused_FindsVariantsNotTheTerm(t *testing.T) {
	terms, err := Glossary()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang, text string
		bad        bool
	}{
		{Chinese, "请打开认证器应用", true},
		{Chinese, "请打开身份验证器应用", false},
		{Chinese, "例如腾讯身份验证器", false},
		{Chinese, "请登陆", true},
		{Chinese, "查看和管理您的登录方式", true},
		{English, "Log in with your passkey", true},
		{English, "Any app that supports standard TOTP works", false},
		{English, "Sign in with Microsoft Authenticator", false},
		{English, "Use a backup code", true},
	}
	for _, c := range cases {
		if got := Misused(terms, c.lang, c.text); (len(got) > 0) != c.bad {
			t.Errorf("Misused(%q) = %q, want a finding: %v", c.text, got, c.bad)
		}
	}
}

// Chinese messages use full-width punctuation: no ASCII : , ? ! ; beside a Chinese character.
func TestCatalogs_ChineseUsesFullWidthPunctuation(t *testing.T) {
	msgs, err := Messages(Chinese)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range sortedKeys(msgs) {
		for _, p := range HalfWidthPunctuation(msgs[id]) {
			area, key, _ := strings.Cut(id, "|")
			t.Errorf("%s.zh-Hans.toml %s: %s", area, key, p)
		}
	}
}

func TestHalfWidthPunctuation_FindsASCIIBesideChinese(t *testing.T) {
	cases := map[string]bool{
		"登录方式: http://example.com": true,
		"选择此方式: 通行密钥":              true,
		"您好,张伟":                    true,
		"为什么?":                     true,
		"服务时间：每天 9:00–21:00":       false,
		"发送到 {{.Target}}":          false,
		"Hello, world: fine":       false,
		"验证码：{{.Code}}":            false,
	}
	for text, bad := range cases {
		if got := HalfWidthPunctuation(text); (len(got) > 0) != bad {
			t.Errorf("HalfWidthPunctuation(%q) = %q, want a finding: %v", text, got, bad)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTranslator_ZoneAndDevice(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := c.For(Chinese), c.For(English)
	winter := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone   string
		zh, en string
	}{
		{"Asia/Shanghai", "北京时间", "China Standard Time"},
		{"Europe/Berlin", "UTC+1", "UTC+1"},
		{"Asia/Kolkata", "UTC+05:30", "UTC+05:30"},
		{"America/New_York", "UTC-5", "UTC-5"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := zh.Zone(loc, winter); got != tc.zh {
			t.Errorf("%s in Chinese: %q, want %q", tc.zone, got, tc.zh)
		}
		if got := en.Zone(loc, winter); got != tc.en {
			t.Errorf("%s in English: %q, want %q", tc.zone, got, tc.en)
		}
	}
	if got := zh.Device("chrome", "linux"); got != "Linux 上的 Chrome" {
		t.Errorf("zh device %q", got)
	}
	if got := en.Device("wechat", "android"); got != "WeChat on Android" {
		t.Errorf("en device %q", got)
	}
	if got := zh.Device("wechat", ""); got != "微信" {
		t.Errorf("zh browser alone %q", got)
	}
	if got := en.Device("", ""); got != "" {
		t.Errorf("no device: %q", got)
	}
}
