package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/i18n"
)

// Every type of the catalogue says what happened in every language, and no two say the same.
func TestCatalogue_EveryTypeDescribedInEveryLanguage(t *testing.T) {
	types := audit.Types()
	if len(types) < 20 {
		t.Fatalf("only %d types declared", len(types))
	}
	data := map[string]string{"Method": "M", "Kind": "K", "State": "S"}
	for _, lang := range i18n.Languages {
		seen := map[string]audit.Type{}
		for _, typ := range types {
			text, ok := audit.Describe(typ, lang, data)
			if !ok || strings.TrimSpace(text) == "" || strings.Contains(text, "{{") || strings.Contains(text, "<no value>") {
				t.Errorf("%s in %s: %q, %v", typ, lang, text, ok)
			}
			if other, dup := seen[text]; dup {
				t.Errorf("%s and %s both say %q in %s", typ, other, text, lang)
			}
			seen[text] = typ
		}
	}
}

func TestDescribe_FillsTheBlanksInTheLanguage(t *testing.T) {
	cases := []struct {
		typ        audit.Type
		lang, want string
		data       map[string]string
	}{
		{audit.FactorAdded, i18n.English, "Method added: passkey", map[string]string{"Kind": "passkey"}},
		{audit.FactorAdded, i18n.Chinese, "添加了验证方式：通行密钥", map[string]string{"Kind": "通行密钥"}},
		{audit.StateChanged, i18n.English, "Retirement done: signs in with the new method from now on", map[string]string{"State": "retired"}},
		{audit.StateChanged, i18n.Chinese, "身份已确认，可以设置新的验证方式", map[string]string{"State": "verified"}},
		{audit.SignInSucceeded, "fr", "登录成功（认证器应用）", map[string]string{"Method": "认证器应用"}}, // an unsupported language reads Chinese
		{audit.VerifyFailed, i18n.English, "Verification failed ()", nil},                  // a detail missing leaves its blank empty
	}
	for _, c := range cases {
		if got, ok := audit.Describe(c.typ, c.lang, c.data); !ok || got != c.want {
			t.Errorf("Describe(%s, %s) = %q, %v; want %q", c.typ, c.lang, got, ok, c.want)
		}
	}
	if _, ok := audit.Describe("no.such_type", i18n.English, nil); ok || audit.Known("no.such_type") {
		t.Error("an undeclared type is described")
	}
}

func TestType_EventCarriesTheClientAndTime(t *testing.T) {
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ev := audit.RecoveryUsed.Event("u1", audit.Client{IP: "192.0.2.1", UserAgent: "ua"}, now, map[string]string{"k": "v"})
	if ev.UserID != "u1" || ev.Type != "recovery.used" || ev.IP != "192.0.2.1" || ev.UserAgent != "ua" || !ev.CreatedAt.Equal(now) || ev.Detail["k"] != "v" {
		t.Fatalf("event = %+v", ev)
	}
}

// Each description says what happened in the glossary's words, and Chinese ones with full-width
// punctuation; a state change says what it means, not "progress changed to".
func TestCatalogue_SaysWhatHappenedInTheGlossarysWords(t *testing.T) {
	terms, err := i18n.Glossary()
	if err != nil {
		t.Fatal(err)
	}
	samples := []map[string]string{{"Method": "M", "Kind": "K", "Client": "C", "Channels": "C", "Days": "3", "Until": "U", "Count": "1", "Max": "3", "Reason": "R"}}
	for _, state := range []string{"notified", "verified", "enrolled", "retired", ""} {
		samples = append(samples, map[string]string{"State": state, "Days": "0"})
	}
	for _, typ := range audit.Types() {
		for _, lang := range i18n.Languages {
			for _, data := range samples {
				text, _ := audit.Describe(typ, lang, data)
				for _, m := range i18n.Misused(terms, lang, text) {
					t.Errorf("%s in %s: %s in %q", typ, lang, m, text)
				}
				if lang == i18n.Chinese {
					for _, p := range i18n.HalfWidthPunctuation(text) {
						t.Errorf("%s: %s", typ, p)
					}
				}
				for _, machine := range []string{"进度变为", "Progress changed", "，不再使用"} {
					if strings.Contains(text, machine) {
						t.Errorf("%s in %s reads as bookkeeping: %q", typ, lang, text)
					}
				}
			}
		}
	}
	if audit.ShownToUser(audit.StateChanged) || !audit.ShownToUser(audit.SMSRetired) {
		t.Error("the user's history should leave out state changes (each comes with its cause) and show the rest")
	}
}
