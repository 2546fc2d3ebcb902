package campaign

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func testSigner(t testing.TB) *NoticeSigner {
	s, err := NewNoticeSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDaysLeft_CountsCalendarDaysInZone(t *testing.T) {
	u := User{Deadline: Date{2026, time.December, 31}}
	cases := []struct {
		now  time.Time
		want int
	}{
		{time.Date(2026, 12, 30, 15, 0, 0, 0, time.UTC), 1},  // 23:00 in Shanghai on the 30th
		{time.Date(2026, 12, 30, 16, 0, 0, 0, time.UTC), 0},  // 00:00 on the 31st in Shanghai
		{time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), -1}, // the 1st of January in Shanghai
		{time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), 37},
	}
	for _, c := range cases {
		if got := u.DaysLeft(c.now, shanghai); got != c.want {
			t.Errorf("DaysLeft(%v) = %d, want %d", c.now, got, c.want)
		}
	}
	if !u.PastDeadline(time.Date(2027, 1, 2, 0, 0, 0, 0, shanghai), shanghai) {
		t.Error("deadline not past a day after")
	}
}

func TestParseDate_RefusesOtherFormats(t *testing.T) {
	for _, s := range []string{"2026/12/31", "31-12-2026", "2026-13-01", "", "2026-02-30"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	d, err := ParseDate("2026-12-31")
	if err != nil || d.String() != "2026-12-31" {
		t.Errorf("ParseDate round trip = %v, %v", d, err)
	}
}

func TestNoticeToken_RoundTrip(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_800_000_000, 0)
	tok := s.Sign("u-1001", now.Add(time.Hour))
	id, err := s.Parse(tok, now)
	if err != nil || id != "u-1001" {
		t.Fatalf("Parse = %q, %v", id, err)
	}
}

func TestNoticeToken_RefusesExpired(t *testing.T) {
	s := testSigner(t)
	now := time.Unix(1_800_000_000, 0)
	tok := s.Sign("u-1001", now.Add(time.Hour))
	if _, err := s.Parse(tok, now.Add(time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("err = %v, want expired", err)
	}
}

func TestNoticeToken_RefusesAlteredOrForeign(t *testing.T) {
	s := testSigner(t)
	other, _ := NewNoticeSigner(bytes.Repeat([]byte{8}, 32))
	now := time.Unix(1_800_000_000, 0)
	tok := s.Sign("u-1001", now.Add(time.Hour))
	forged := strings.Replace(tok, "dS0xMDAx", "dS0xMDAy", 1) // u-1001 → u-1002
	for _, bad := range []string{forged, tok[:len(tok)-2], other.Sign("u-1001", now.Add(time.Hour)), "", "a.b.c.d", strings.Repeat("x", 600)} {
		if id, err := s.Parse(bad, now); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Parse(%q) = %q, %v; want invalid", bad, id, err)
		}
	}
}

func FuzzNoticeTokenParse(f *testing.F) {
	s := testSigner(f)
	now := time.Unix(1_800_000_000, 0)
	f.Add(s.Sign("u-1001", now.Add(time.Hour)))
	f.Add("n1.dS0xMDAx.abc.def")
	f.Add("....")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := s.Parse(tok, now)
		if err != nil {
			return
		}
		// Only a token this signer made can pass, and it must name the same user again.
		if s.Sign(id, now.Add(time.Hour)) == "" {
			t.Fatal("empty token")
		}
		if !strings.HasPrefix(tok, tokenVersion+".") {
			t.Fatalf("accepted token without version: %q", tok)
		}
	})
}
