package approval_test

import (
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/audit"
)

func TestContextOf_TellsTheComputerThatAsks(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
	got := approval.ContextOf(audit.Client{IP: "198.51.100.7", UserAgent: ua}, at)
	want := approval.Context{Browser: "edge", System: "windows", IP: "198.51.100.7", At: at}
	if got != want {
		t.Fatalf("ContextOf = %+v, want %+v", got, want)
	}
	if got := approval.ContextOf(audit.Client{IP: "198.51.100.7", UserAgent: "curl/8.0"}, at); got.Browser != "" || got.System != "" {
		t.Fatalf("an unknown agent gave %+v, want no browser or system", got)
	}
}
