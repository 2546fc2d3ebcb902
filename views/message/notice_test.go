package message_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/views/message"
)

func TestRender_SecurityNoticesAndCheckupInBothLanguages(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	cat.OnMissing(func(lang, id string) { missing = append(missing, lang+":"+id) })
	cfg := config.Default()
	cfg.BaseURL = "https://portal.example.cn"
	r := message.NewRenderer(cat, cfg)
	for _, lang := range i18n.Languages {
		for _, change := range []string{"factor.added", "factor.removed", "recovery.used", "recovery.regenerated"} {
			data := map[string]string{"change": change, "kind": "passkey", "date": "2026-11-24T10:30:00Z", "device": "Chrome on Android", "ip": "203.0.113.7"}
			got, err := r.Render(context.Background(), "email", "security.notice", lang, data, "")
			if err != nil {
				t.Fatalf("%s %s: %v", lang, change, err)
			}
			for _, want := range []string{"Chrome on Android", "203.0.113.7", "18:30", "https://portal.example.cn/signin", cfg.SupportEmail} {
				if !strings.Contains(got.Text, want) || !strings.Contains(got.HTML, want) {
					t.Errorf("%s %s lacks %q:\n%s", lang, change, want, got.Text)
				}
			}
		}
		if _, err := r.Render(context.Background(), "email", "security.notice", lang, map[string]string{"change": "something.else"}, ""); err == nil {
			t.Error("an unknown change rendered")
		}
		got, err := r.Render(context.Background(), "email", "checkup.reminder", lang, map[string]string{"date": "2026-11-24T10:30:00Z"}, "")
		if err != nil || !strings.Contains(got.Text, "/signin") {
			t.Errorf("%s checkup: %v\n%s", lang, err, got.Text)
		}
	}
	if len(missing) > 0 {
		t.Errorf("missing messages: %v", missing)
	}
}
