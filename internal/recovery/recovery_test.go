package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/enroll"
	"github.com/smsretire/smsretire/internal/recovery"
	"github.com/smsretire/smsretire/internal/securitynotice"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var (
	t0     = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	key    = bytes.Repeat([]byte{9}, 32)
	client = audit.Client{IP: "192.0.2.7", UserAgent: "test"}
	shape  = regexp.MustCompile(`^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{4}(-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{4}){3}$`)
)

// NewSet is what enrollment calls to make the first set.
var _ enroll.RecoveryCodes = (*recovery.Service)(nil).NewSet

func TestGenerate_TenDistinctCodesInFourGroupsOfFour(t *testing.T) {
	codes, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("got %d codes, want 10", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q is not XXXX-XXXX-XXXX-XXXX from the alphabet", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if n, ok := recovery.Normalize(c); !ok || n != strings.ReplaceAll(c, "-", "") {
			t.Errorf("Normalize(%q) = %q, %v", c, n, ok)
		}
	}
}

func TestGenerate_CarriesAtLeast64Bits(t *testing.T) {
	if len(recovery.Alphabet) != 32 || strings.ContainsAny(recovery.Alphabet, "01IO") {
		t.Fatalf("alphabet %q: want 32 symbols without 0, 1, I, O", recovery.Alphabet)
	}
	seen := map[rune]bool{}
	for _, r := range recovery.Alphabet {
		if seen[r] {
			t.Fatalf("alphabet has %q twice", r)
		}
		seen[r] = true
	}
	bits := float64(recovery.Length) * math.Log2(float64(len(recovery.Alphabet)))
	if bits != recovery.Bits || bits < 64 {
		t.Errorf("a code carries %.0f bits (claimed %d), want ≥ 64", bits, recovery.Bits)
	}
	// Every symbol is used: 100 sets draw 16,000 characters, so a symbol the generator never
	// picks would show (a fair symbol is missing with probability about 32·e^-500).
	counts := map[rune]int{}
	for range 100 {
		codes, err := recovery.Generate()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				counts[r]++
			}
		}
	}
	for _, r := range recovery.Alphabet {
		if counts[r] == 0 {
			t.Errorf("symbol %q never drawn", r)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"7KQ2-M9XD-4HNP-WC3R", "7KQ2M9XD4HNPWC3R", true},
		{"7kq2-m9xd-4hnp-wc3r", "7KQ2M9XD4HNPWC3R", true},
		{"7KQ2M9XD4HNPWC3R", "7KQ2M9XD4HNPWC3R", true},
		{" 7kq2 m9xd 4hnp wc3r ", "7KQ2M9XD4HNPWC3R", true},
		{"７ＫＱ２－ｍ９ｘｄ－４ＨＮＰ－ＷＣ３Ｒ", "7KQ2M9XD4HNPWC3R", true},
		{"7KQ2\u3000M9XD\u30004HNP\u3000WC3R", "7KQ2M9XD4HNPWC3R", true},
		{"7KQ2-M9XD-4HNP-WC3", "", false},   // too short
		{"7KQ2-M9XD-4HNP-WC3RR", "", false}, // too long
		{"0KQ2-M9XD-4HNP-WC3R", "", false},  // 0 is not in the alphabet
		{"OKQ2-M9XD-4HNP-WC3R", "", false},  // nor O
		{"1KQ2-M9XD-4HNP-WC3R", "", false},  // nor 1
		{"IKQ2-M9XD-4HNP-WC3R", "", false},  // nor I
		{"7KQ2_M9XD_4HNP_WC3R", "", false},
		{"7KQ2-M9XD-4HNP-WC3R\n", "", false},
		{"", "", false},
		{strings.Repeat("-", 1000) + "7KQ2M9XD4HNPWC3R", "", false},
	} {
		got, ok := recovery.Normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHash_DependsOnKeyUserAndCodeOnly(t *testing.T) {
	h := recovery.Hash(key, "alice", "7KQ2-M9XD-4HNP-WC3R")
	if len(h) != 32 {
		t.Fatalf("hash is %d bytes, want 32", len(h))
	}
	if !bytes.Equal(h, recovery.Hash(key, "alice", "7kq2m9xd 4hnpwc3r")) {
		t.Error("a code typed differently hashes differently")
	}
	if bytes.Contains(h, []byte("7KQ2")) {
		t.Error("hash contains the code")
	}
	for name, other := range map[string][]byte{
		"other user": recovery.Hash(key, "bob", "7KQ2-M9XD-4HNP-WC3R"),
		"other key":  recovery.Hash(bytes.Repeat([]byte{8}, 32), "alice", "7KQ2-M9XD-4HNP-WC3R"),
		"other code": recovery.Hash(key, "alice", "7KQ2-M9XD-4HNP-WC3S"),
	} {
		if bytes.Equal(h, other) {
			t.Errorf("%s gives the same hash", name)
		}
	}
}

// fixture makes alice (with a TOTP factor) and bob (with none).
func fixture(t *testing.T, st *store.SQL) *recovery.Service {
	t.Helper()
	ctx := context.Background()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline},
	}, t0); err != nil {
		t.Fatal(err)
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertFactor(ctx, store.Factor{UserID: "alice", Kind: store.FactorTOTP, Secret: []byte{1}, SecretKeyID: "k1", CreatedAt: t0})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return recovery.New(st, key, securitynotice.New(st, clock.NewFake(t0), bytes.Repeat([]byte{3}, 32)))
}

func TestUse_EachCodeWorksOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		svc := fixture(t, st)
		codes, err := svc.Regenerate(ctx, "alice", client, t0)
		if err != nil {
			t.Fatal(err)
		}
		later := t0.Add(time.Hour)
		if err := svc.Use(ctx, "alice", codes[0], client, later, nil); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := svc.Use(ctx, "alice", codes[0], client, later, nil); !errors.Is(err, recovery.ErrInvalid) {
			t.Errorf("second use = %v, want ErrInvalid", err)
		}
		typed := strings.ToLower(strings.ReplaceAll(codes[1], "-", ""))
		if err := svc.Use(ctx, "alice", typed, client, later, nil); err != nil {
			t.Errorf("use of %q typed as %q: %v", codes[1], typed, err)
		}
		for _, bad := range []string{"", "not a code", "2222-2222-2222-2222"} {
			if err := svc.Use(ctx, "alice", bad, client, later, nil); !errors.Is(err, recovery.ErrInvalid) {
				t.Errorf("Use(%q) = %v, want ErrInvalid", bad, err)
			}
		}
		if err := svc.Use(ctx, "bob", codes[2], client, later, nil); !errors.Is(err, recovery.ErrInvalid) {
			t.Errorf("bob using alice's code = %v, want ErrInvalid", err)
		}
		if n, err := svc.Left(ctx, "alice"); err != nil || n != 8 {
			t.Errorf("Left = %d, %v; want 8", n, err)
		}
		events, err := st.Events(ctx, "alice", 10)
		if err != nil {
			t.Fatal(err)
		}
		var used int
		for _, ev := range events {
			if ev.Type == audit.RecoveryUsed {
				used++
				if ev.IP != client.IP || !ev.CreatedAt.Equal(later) {
					t.Errorf("event %+v", ev)
				}
			}
		}
		if used != 2 {
			t.Errorf("%d recovery.used events, want 2", used)
		}
	})
}

func TestRegenerate_VoidsTheOldSet(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		svc := fixture(t, st)
		old, err := svc.Regenerate(ctx, "alice", client, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Use(ctx, "alice", old[0], client, t0, nil); err != nil {
			t.Fatal(err)
		}
		fresh, err := svc.Regenerate(ctx, "alice", client, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Left(ctx, "alice"); err != nil || n != 10 {
			t.Errorf("Left after regenerating = %d, %v; want 10", n, err)
		}
		for _, c := range old[1:] {
			if err := svc.Use(ctx, "alice", c, client, t0.Add(time.Hour), nil); !errors.Is(err, recovery.ErrInvalid) {
				t.Errorf("old code %s = %v, want ErrInvalid", c, err)
			}
		}
		if err := svc.Use(ctx, "alice", fresh[9], client, t0.Add(time.Hour), nil); err != nil {
			t.Errorf("new code: %v", err)
		}
		events, err := st.Events(ctx, "alice", 10)
		if err != nil {
			t.Fatal(err)
		}
		var regenerated int
		for _, ev := range events {
			if ev.Type == audit.RecoveryRegenerated {
				regenerated++
			}
		}
		if regenerated != 2 {
			t.Errorf("%d recovery.regenerated events, want 2", regenerated)
		}
	})
}

func TestRegenerate_RefusesAUserWithoutFactor(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		svc := fixture(t, st)
		if _, err := svc.Regenerate(ctx, "bob", client, t0); !errors.Is(err, recovery.ErrNoFactor) {
			t.Errorf("Regenerate = %v, want ErrNoFactor", err)
		}
		if n, err := svc.Left(ctx, "bob"); err != nil || n != 0 {
			t.Errorf("Left = %d, %v; want 0", n, err)
		}
	})
}

func TestNewSet_HashesMatchWhatUseLooksFor(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		svc := fixture(t, st)
		codes, hashes, err := svc.NewSet("alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 10 || len(hashes) != 10 {
			t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
		}
		// Store the set as enrollment does, inside its own transaction.
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceRecoveryCodes(ctx, "alice", hashes, t0) }); err != nil {
			t.Fatal(err)
		}
		if err := svc.Use(ctx, "alice", codes[4], client, t0, nil); err != nil {
			t.Errorf("Use of a NewSet code: %v", err)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"7KQ2-M9XD-4HNP-WC3R", "7kq2m9xd4hnpwc3r", "７ＫＱ２－ｍ９ｘｄ", "0O1I", "", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := recovery.Normalize(in)
		if !ok {
			if out != "" {
				t.Errorf("Normalize(%q) refused but returned %q", in, out)
			}
			return
		}
		if len(out) != recovery.Length || strings.Trim(out, recovery.Alphabet) != "" {
			t.Errorf("Normalize(%q) = %q: not %d alphabet characters", in, out, recovery.Length)
		}
		if again, ok := recovery.Normalize(out); !ok || again != out {
			t.Errorf("Normalize is not idempotent on %q: %q, %v", out, again, ok)
		}
	})
}
