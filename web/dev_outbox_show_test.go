package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/devbox"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// In --demo the log gateway sends nothing: the code the worker delivered is read on the page.
func TestDevOutboxShow_ListsDeliveredMessagesWithTheirCodes(t *testing.T) {
	s := webtest.NewServer(t)

	r := s.Get(t, s.Client(), "/dev/outbox", cookieLang(i18n.English))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	checkPage(t, s, r, i18n.English, "dev.outbox.title")
	if r.Doc.Find(".dev-outbox li").Length() != 0 {
		t.Error("messages listed before any was sent")
	}

	ctx := context.Background()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueOutbox(ctx, outbox.SMS("demo-zh", "+8613800138001", "zh-Hans", "verify.code", outbox.CodeData(10*time.Minute), "493817", s.Clock.Now()))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Deliver(t); n != 1 {
		t.Fatalf("delivered %d", n)
	}

	for _, lang := range i18n.Languages {
		r = s.Get(t, s.Client(), "/dev/outbox", cookieLang(lang))
		checkPage(t, s, r, lang, "dev.outbox.title")
		items := r.Doc.Find(".dev-outbox li")
		if items.Length() != 1 {
			t.Fatalf("%s: %d messages listed", lang, items.Length())
		}
		if h := items.Find("h2").Text(); !strings.Contains(h, "+8613800138001") {
			t.Errorf("%s: heading %q", lang, h)
		}
		if text := items.Find(".dev-outbox-text").Text(); !strings.Contains(text, "493817") {
			t.Errorf("%s: text %q", lang, text)
		}
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestDevOutboxShow_AbsentOutsideDemo(t *testing.T) {
	for name, opts := range map[string][]webtest.ServerOption{
		"not demo": {webtest.WithConfig(func(c *config.Config) { c.Demo = false })},
		"not demo, given a devbox": {webtest.WithParts(func(p *app.Parts) { p.Devbox = devbox.New(10) }),
			webtest.WithConfig(func(c *config.Config) { c.Demo = false })},
	} {
		s := webtest.NewServer(t, opts...)
		if r := s.Get(t, s.Client(), "/dev/outbox", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", name, r.StatusCode)
		}
	}
}
