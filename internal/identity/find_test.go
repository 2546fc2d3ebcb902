package identity_test

import (
	"context"
	"testing"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func TestFind_ReadsPhoneNumbersInCommonFormatsAndAccountIDs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testsupport.SQLite(t), nil)
	for _, in := range []string{
		"+8613800000001", "13800000001", "138 0000 0001", "+86 138-0000-0001", "0086 138 0000 0001",
		"+86 (138) 0000-0001", "138.0000.0001", "  +86 138 0000 0001  ", "alice", " alice\t",
	} {
		sub, err := f.svc.Find(ctx, in)
		if err != nil || sub != identity.ForUser("alice", false) {
			t.Errorf("Find(%q) = %+v, %v; want alice, not identified", in, sub, err)
		}
	}
	for _, in := range []string{"13999999999", "+86 138-0000-0009", "bob", "Alice", "1234567"} {
		sub, err := f.svc.Find(ctx, in)
		if err != nil || sub.UserID != "" || sub.Key == "" || sub.Identified {
			t.Errorf("Find(%q) = %+v, %v; want an unknown subject", in, sub, err)
		}
	}
}

func TestFind_ANumberSharedByAccountsNamesNone(t *testing.T) {
	ctx := context.Background()
	st := testsupport.SQLite(t)
	f := newFixture(t, st, nil)
	twins := []campaign.RosterEntry{
		{ID: "twin1", Phone: "+8613900000007", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}},
		{ID: "twin2", Phone: "+8613900000007", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}},
	}
	if _, err := st.UpsertUsers(ctx, twins, t0); err != nil {
		t.Fatal(err)
	}
	byNumber, err := f.svc.Find(ctx, "139 0000 0007")
	if err != nil || byNumber.UserID != "" {
		t.Fatalf("shared number: %+v, %v; want no account", byNumber, err)
	}
	nobody, _ := f.svc.Find(ctx, "139 0000 0008")
	if byNumber.Key == nobody.Key || byNumber.Key == "" {
		t.Errorf("the shared number's subject %q is not its own", byNumber.Key)
	}
	if byID, _ := f.svc.Find(ctx, "twin2"); byID.UserID != "twin2" {
		t.Errorf("by account ID: %+v", byID)
	}
}

// FuzzFind feeds the look-up anything a stranger can type: it never fails or panics, never
// identifies an account (only a signed link or a knowledge check does), answers the same input
// alike, ignores surrounding space, and gives every spelling of a number the subject of its
// E.164 form.
func FuzzFind(f *testing.F) {
	ctx := context.Background()
	fx := newFixture(f, testsupport.SQLite(f), nil)
	for _, s := range []string{"alice", "+86 138-0000-0001", "0086 13800000001", "13999999999", "late", "",
		"+", "1234567", "(((", "\u3000", "alice\x00", "+999999999999999999", "١٣٨٠٠٠٠٠٠٠١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sub, err := fx.svc.Find(ctx, in)
		if err != nil {
			t.Fatalf("Find(%q): %v", in, err)
		}
		if sub.Key == "" || sub.Identified {
			t.Fatalf("Find(%q) = %+v: want a key and no identification", in, sub)
		}
		if sub.UserID != "" && sub != identity.ForUser(sub.UserID, false) {
			t.Fatalf("Find(%q) = %+v: a known account under another key", in, sub)
		}
		if again, _ := fx.svc.Find(ctx, " "+in+"\t"); again != sub {
			t.Fatalf("Find(%q) = %+v, with spaces around %+v", in, sub, again)
		}
		if !phone.LooksLikePhone(in) {
			return
		}
		e164, err := phone.Normalize(in, phone.DefaultRegion)
		if err != nil {
			return
		}
		if byE164, _ := fx.svc.Find(ctx, e164); byE164 != sub {
			t.Fatalf("Find(%q) = %+v, but its number %s gives %+v", in, sub, e164, byE164)
		}
		if e164 == "+8613800000001" && sub.UserID != "alice" {
			t.Fatalf("Find(%q) = %+v, want alice's number to find alice", in, sub)
		}
	})
}

// Shown masks what was typed, never what is stored: a known and an unknown input of the same
// shape look alike.
func TestShown_MasksWhatWasTyped(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t), nil)
	for in, want := range map[string]string{
		"138 0000 0001":     "138****0001", // alice's number
		"+86 139 9999 9999": "139****9999", // nobody's
		"+852 9123 4567":    "+852 91**4567",
		"alice":             "a***",
		"demo-zh":           "de***zh",
		"nobody-at-all":     "no***ll",
		"  bob  ":           "b***",
		"":                  "",
	} {
		if got := f.svc.Shown(in); got != want {
			t.Errorf("Shown(%q) = %q, want %q", in, got, want)
		}
	}
}
