package campaign_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
)

// BenchmarkNoticeTokenParse measures checking a notice link's token: its HMAC and expiry.
func BenchmarkNoticeTokenParse(b *testing.B) {
	s, err := campaign.NewNoticeSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	token := s.Sign("user0000001", now.Add(30*24*time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Parse(token, now); err != nil {
			b.Fatal(err)
		}
	}
}
