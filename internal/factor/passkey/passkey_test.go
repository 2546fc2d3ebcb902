package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/factor/passkey"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

const (
	rpID   = "portal.example.cn"
	origin = "https://portal.example.cn"
)

var t0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	svc   *passkey.Service
	st    *store.SQL
	clk   *clock.Fake
	alice campaign.User
	bob   campaign.User
}

func newFixture(t *testing.T, st *store.SQL) *fixture {
	t.Helper()
	ctx := context.Background()
	deadline := campaign.Date{Year: 2026, Month: 12, Day: 31}
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{
		{ID: "alice", Phone: "+8613800000001", Name: "张伟", Deadline: deadline},
		{ID: "bob", Phone: "+8613800000002", Deadline: deadline},
	}, t0); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	svc, err := passkey.New(st, clk, bytes.Repeat([]byte{7}, 32), passkey.Settings{RPID: rpID, RPName: "Example Portal", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{svc: svc, st: st, clk: clk}
	if f.alice, err = st.UserByID(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if f.bob, err = st.UserByID(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	return f
}

// register runs a whole registration for u with a and stores the factor as enrollment would.
func (f *fixture) register(t *testing.T, u campaign.User, a *softAuth) store.Factor {
	t.Helper()
	ctx := context.Background()
	opts, id, err := f.svc.BeginRegistration(ctx, u, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	fac, err := f.svc.FinishRegistration(ctx, u.ID, id, a.create(opts), "")
	if err != nil {
		t.Fatal(err)
	}
	return insert(t, f.st, fac)
}

func insert(t *testing.T, st *store.SQL, fac store.Factor) store.Factor {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		fac.ID, err = tx.InsertFactor(context.Background(), fac)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fac
}

// login runs a whole sign-in with a.
func (f *fixture) login(t *testing.T, a *softAuth) (string, store.Factor, error) {
	t.Helper()
	l, err := f.loginFor(t, a, "")
	return l.UserID, l.Factor, err
}

// loginFor runs a whole sign-in with a that only forUser's passkeys may finish ("" for anyone's).
func (f *fixture) loginFor(t *testing.T, a *softAuth, forUser string) (passkey.Login, error) {
	t.Helper()
	ctx := context.Background()
	opts, id, err := f.svc.BeginLoginFor(ctx, forUser)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishLogin(ctx, id, a.get(opts), audit.Client{IP: "203.0.113.9", UserAgent: "TestBrowser/1"})
}

func (f *fixture) factor(t *testing.T, userID string, id int64) store.Factor {
	t.Helper()
	got, err := f.st.Factor(context.Background(), userID, id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBeginRegistration_AsksForADiscoverablePasskeyWithoutAttestation(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	if _, _, err := f.svc.BeginRegistration(context.Background(), f.alice, " "); err == nil {
		t.Error("a registration without a label for the account began")
	}
	raw, id, err := f.svc.BeginRegistration(context.Background(), f.alice, "张伟")
	if err != nil {
		t.Fatal(err)
	}
	o := parseOptions(t, raw)
	pk := o.PublicKey
	sel := pk.AuthenticatorSelection
	if o.Ceremony != id || len(id) < 22 {
		t.Errorf("ceremony %q in the reply, %q returned", o.Ceremony, id)
	}
	if sel.ResidentKey != "required" || sel.RequireResidentKey == nil || !*sel.RequireResidentKey || sel.UserVerification != "preferred" {
		t.Errorf("authenticatorSelection = %+v", sel)
	}
	if pk.Attestation != "none" || pk.RP.ID != rpID || pk.RP.Name != "Example Portal" {
		t.Errorf("attestation %q, rp %+v", pk.Attestation, pk.RP)
	}
	if pk.User.Name != "张伟" || pk.User.DisplayName != "张伟" { // what password managers list: never the account ID
		t.Errorf("user %+v", pk.User)
	}
	handle, err := b64.DecodeString(pk.User.ID)
	if err != nil || len(handle) != 32 || !bytes.Equal(handle, f.svc.Handle("alice")) || bytes.Contains(handle, []byte("alice")) {
		t.Errorf("user.id %q: want the opaque 32-byte handle", pk.User.ID)
	}
	if pk.Timeout != int((5 * time.Minute).Milliseconds()) {
		t.Errorf("timeout %d", pk.Timeout)
	}
	if len(pk.Challenge) < 22 {
		t.Errorf("challenge %q too short", pk.Challenge)
	}
}

func TestHandle_OpaqueStableAndKeyed(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	other, err := passkey.New(f.st, f.clk, bytes.Repeat([]byte{8}, 32), passkey.Settings{RPID: rpID, RPName: "x", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	a1, a2, b := f.svc.Handle("alice"), f.svc.Handle("alice"), f.svc.Handle("bob")
	if len(a1) != 32 || !bytes.Equal(a1, a2) || bytes.Equal(a1, b) || bytes.Equal(a1, other.Handle("alice")) {
		t.Errorf("handles: alice %x / %x, bob %x, other key %x", a1, a2, b, other.Handle("alice"))
	}
}

func TestRegistration_YieldsTheFactorToStore(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		ctx := context.Background()
		a := newSoftAuth(t, rpID, origin)
		opts, id, err := f.svc.BeginRegistration(ctx, f.alice, "张伟")
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		fac, err := f.svc.FinishRegistration(ctx, "alice", id, a.create(opts), "  My\tphone  ")
		if err != nil {
			t.Fatal(err)
		}
		if fac.UserID != "alice" || fac.Kind != store.FactorPasskey || fac.Name != "My phone" || fac.ID != 0 {
			t.Errorf("factor %+v", fac)
		}
		if !bytes.Equal(fac.CredentialID, a.credID) || !bytes.Equal(fac.AAGUID, a.aaguid) || !bytes.Equal(fac.PublicKey, a.coseKey()) {
			t.Errorf("credential %x, aaguid %x, key %x", fac.CredentialID, fac.AAGUID, fac.PublicKey)
		}
		if !fac.BackupEligible || !fac.BackupState || fac.SignCount != 0 || fac.Transports != "internal,hybrid" || !fac.CreatedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("flags BE %v BS %v, count %d, transports %q, created %v", fac.BackupEligible, fac.BackupState, fac.SignCount, fac.Transports, fac.CreatedAt)
		}
		if fs, _ := st.Factors(ctx, "alice"); len(fs) != 0 {
			t.Errorf("FinishRegistration stored %d factors itself", len(fs))
		}

		// Stored, the passkey is excluded from the next registration of the same account.
		stored := insert(t, st, fac)
		if got := f.factor(t, "alice", stored.ID); !bytes.Equal(got.PublicKey, fac.PublicKey) || got.Transports != fac.Transports {
			t.Errorf("stored factor %+v", got)
		}
		opts, _, err = f.svc.BeginRegistration(ctx, f.alice, "138****0001")
		if err != nil {
			t.Fatal(err)
		}
		ex := parseOptions(t, opts).PublicKey.ExcludeCredentials
		if len(ex) != 1 || ex[0].ID != b64.EncodeToString(a.credID) || ex[0].Type != "public-key" {
			t.Errorf("excludeCredentials = %+v", ex)
		}
		if u := parseOptions(t, opts).PublicKey.User; u.Name != "138****0001" || u.DisplayName != "138****0001" {
			t.Errorf("user %+v, want the label given (the masked phone), never the account ID", u)
		}
	})
}

func TestFinishRegistration_RefusesTheSameAuthenticatorTwice(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	a := newSoftAuth(t, rpID, origin)
	f.register(t, f.alice, a)
	a.excused = true // a browser that ignored excludeCredentials
	opts, id, err := f.svc.BeginRegistration(context.Background(), f.alice, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(context.Background(), "alice", id, a.create(opts), ""); !errors.Is(err, passkey.ErrAlreadyRegistered) {
		t.Errorf("second registration of one authenticator: %v, want passkey.ErrAlreadyRegistered", err)
	}
}

func TestFinishRegistration_FinishesOnce(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	ctx := context.Background()
	a := newSoftAuth(t, rpID, origin)
	opts, id, err := f.svc.BeginRegistration(ctx, f.alice, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	answer := a.create(opts)
	if _, err := f.svc.FinishRegistration(ctx, "alice", id, answer, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(ctx, "alice", id, answer, ""); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("second finish: %v, want passkey.ErrCeremonyExpired", err)
	}
}

func TestFinishRegistration_RefusesAnExpiredCeremony(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	ctx := context.Background()
	a := newSoftAuth(t, rpID, origin)
	early, earlyID, err := f.svc.BeginRegistration(ctx, f.alice, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	late, lateID, err := f.svc.BeginRegistration(ctx, f.alice, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(4 * time.Minute) // the first is 5 minutes old, the second 4
	if _, err := f.svc.FinishRegistration(ctx, "alice", earlyID, a.create(early), ""); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("finish after 5 minutes: %v, want passkey.ErrCeremonyExpired", err)
	}
	if _, err := f.svc.FinishRegistration(ctx, "alice", lateID, a.create(late), ""); err != nil {
		t.Errorf("finish after 4 minutes: %v", err)
	}
}

func TestFinishRegistration_RefusesAnotherUsersCeremony(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	ctx := context.Background()
	opts, id, err := f.svc.BeginRegistration(ctx, f.alice, "138****0001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(ctx, "bob", id, newSoftAuth(t, rpID, origin).create(opts), ""); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("bob finishing alice's ceremony: %v, want passkey.ErrCeremonyExpired", err)
	}
}

func TestFinishRegistration_RefusesWhatDoesNotVerify(t *testing.T) {
	cases := []struct {
		name   string
		answer func(t *testing.T, a *softAuth, opts []byte) []byte
	}{
		{"another origin", func(t *testing.T, a *softAuth, opts []byte) []byte {
			a.origin = "https://portal.example.cn.evil.test"
			return a.create(opts)
		}},
		{"another RP ID", func(t *testing.T, a *softAuth, opts []byte) []byte {
			a.rpID = "example.com"
			return a.create(opts)
		}},
		{"another challenge", func(t *testing.T, a *softAuth, opts []byte) []byte {
			o := parseOptions(t, opts)
			o.PublicKey.Challenge = b64.EncodeToString(bytes.Repeat([]byte{1}, 32))
			other, _ := json.Marshal(o)
			return a.create(other)
		}},
		{"backed up but not backup eligible", func(t *testing.T, a *softAuth, opts []byte) []byte {
			a.flags = flagUV | flagBS
			return a.create(opts)
		}},
		{"not JSON", func(t *testing.T, a *softAuth, opts []byte) []byte { return []byte("{") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testsupport.SQLite(t))
			opts, id, err := f.svc.BeginRegistration(context.Background(), f.alice, "138****0001")
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.FinishRegistration(context.Background(), "alice", id, tc.answer(t, newSoftAuth(t, rpID, origin), opts), "")
			if !errors.Is(err, passkey.ErrVerification) {
				t.Errorf("FinishRegistration = %v, want passkey.ErrVerification", err)
			}
		})
	}
}

func TestBeginLogin_IsDiscoverable(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	f.register(t, f.alice, newSoftAuth(t, rpID, origin))
	raw, id, err := f.svc.BeginLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := parseOptions(t, raw)
	if o.Ceremony != id || o.PublicKey.RPID != rpID || o.PublicKey.UserVerification != "preferred" || len(o.PublicKey.AllowCredentials) != 0 {
		t.Errorf("login options %s", raw)
	}
	if strings.Contains(string(raw), "alice") {
		t.Errorf("login options name an account: %s", raw)
	}
}

func TestLogin_SucceedsAndRecordsUse(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		a := newSoftAuth(t, rpID, origin)
		a.count = 1
		stored := f.register(t, f.alice, a)
		for _, n := range []uint32{2, 7} {
			f.clk.Advance(time.Hour)
			a.count = n
			uid, fac, err := f.login(t, a)
			if err != nil {
				t.Fatalf("login with count %d: %v", n, err)
			}
			if uid != "alice" || fac.ID != stored.ID || fac.SignCount != n {
				t.Errorf("login = %q, factor %d count %d", uid, fac.ID, fac.SignCount)
			}
			got := f.factor(t, "alice", stored.ID)
			if got.SignCount != n || !got.LastUsedAt.Equal(f.clk.Now()) || got.Flagged {
				t.Errorf("after login with %d: count %d, last used %v, flagged %v", n, got.SignCount, got.LastUsedAt, got.Flagged)
			}
		}
	})
}

func TestLogin_WithoutCounterWorksEveryTime(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	a := newSoftAuth(t, rpID, origin) // count stays 0, as synced passkeys report
	stored := f.register(t, f.alice, a)
	for i := 0; i < 2; i++ {
		if _, _, err := f.login(t, a); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	if got := f.factor(t, "alice", stored.ID); got.Flagged || got.SignCount != 0 {
		t.Errorf("factor %+v", got)
	}
}

func TestLogin_RecordsBackupStateChange(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	a := newSoftAuth(t, rpID, origin)
	a.flags = flagUV | flagBE // eligible, not yet backed up
	stored := f.register(t, f.alice, a)
	a.flags = flagUV | flagBE | flagBS
	if _, _, err := f.login(t, a); err != nil {
		t.Fatal(err)
	}
	if got := f.factor(t, "alice", stored.ID); !got.BackupState {
		t.Error("backup state not recorded")
	}
}

func TestLogin_RefusesACountThatWentBack(t *testing.T) {
	for _, n := range []uint32{0, 3, 5} {
		t.Run(strconv.FormatUint(uint64(n), 10), func(t *testing.T) {
			testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
				f := newFixture(t, st)
				a := newSoftAuth(t, rpID, origin)
				a.count = 5
				stored := f.register(t, f.alice, a)
				f.clk.Advance(time.Hour)
				a.count = n
				_, _, err := f.login(t, a)
				if !errors.Is(err, passkey.ErrSignCountRegressed) {
					t.Fatalf("login with count %d after 5: %v, want passkey.ErrSignCountRegressed", n, err)
				}
				got := f.factor(t, "alice", stored.ID)
				if !got.Flagged || got.SignCount != 5 || !got.LastUsedAt.IsZero() {
					t.Errorf("factor after refusal: flagged %v, count %d, last used %v", got.Flagged, got.SignCount, got.LastUsedAt)
				}
				evs, err := st.Events(context.Background(), "alice", 10)
				if err != nil {
					t.Fatal(err)
				}
				ev := evs[0]
				if ev.Type != audit.PasskeyCounterRegressed || ev.IP != "203.0.113.9" || ev.UserAgent != "TestBrowser/1" || !ev.CreatedAt.Equal(f.clk.Now()) ||
					ev.Detail["stored"] != "5" || ev.Detail["received"] != strconv.FormatUint(uint64(n), 10) || ev.Detail["factor_id"] == "" {
					t.Errorf("latest event %+v", ev)
				}
			})
		})
	}
}

func TestLogin_RefusesAnotherUsersHandle(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	a := newSoftAuth(t, rpID, origin)
	stored := f.register(t, f.alice, a)
	a.handle = f.svc.Handle("bob")
	uid, _, err := f.login(t, a)
	if !errors.Is(err, passkey.ErrVerification) || uid != "" {
		t.Errorf("alice's passkey with bob's handle: %q, %v; want passkey.ErrVerification", uid, err)
	}
	if got := f.factor(t, "alice", stored.ID); got.Flagged || !got.LastUsedAt.IsZero() {
		t.Errorf("factor changed: %+v", got)
	}
}

func TestLogin_RefusesAnUnknownPasskey(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	f.register(t, f.alice, newSoftAuth(t, rpID, origin))
	stranger := newSoftAuth(t, rpID, origin)
	stranger.handle = f.svc.Handle("alice")
	if _, _, err := f.login(t, stranger); !errors.Is(err, passkey.ErrUnknownCredential) {
		t.Errorf("unregistered passkey: %v, want passkey.ErrUnknownCredential", err)
	}
}

// Only a verified signature can flag a passkey: someone who knows a credential ID and sends a
// low count with a wrong key changes nothing.
func TestLogin_ForgedAnswerFlagsNothing(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	a := newSoftAuth(t, rpID, origin)
	a.count = 5
	stored := f.register(t, f.alice, a)
	forger := newSoftAuth(t, rpID, origin)
	forger.credID, forger.handle, forger.count = a.credID, a.handle, 1
	if _, _, err := f.login(t, forger); !errors.Is(err, passkey.ErrVerification) {
		t.Errorf("forged assertion: %v, want passkey.ErrVerification", err)
	}
	if got := f.factor(t, "alice", stored.ID); got.Flagged || got.SignCount != 5 {
		t.Errorf("factor changed: %+v", got)
	}
	if evs, _ := f.st.Events(context.Background(), "alice", 10); len(evs) > 0 && evs[0].Type == audit.PasskeyCounterRegressed {
		t.Error("forged assertion wrote a history event")
	}
}

func TestLogin_RefusesAnswersThatDoNotVerify(t *testing.T) {
	cases := []struct {
		name   string
		change func(a *softAuth)
	}{
		{"another origin", func(a *softAuth) { a.origin = "https://evil.example" }},
		{"another RP ID", func(a *softAuth) { a.rpID = "example.com" }},
		{"backup eligibility changed", func(a *softAuth) { a.flags = flagUV }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testsupport.SQLite(t))
			a := newSoftAuth(t, rpID, origin)
			f.register(t, f.alice, a)
			tc.change(a)
			a.count = 1
			if _, _, err := f.login(t, a); !errors.Is(err, passkey.ErrVerification) {
				t.Errorf("login = %v, want passkey.ErrVerification", err)
			}
		})
	}
}

func TestFinishLogin_CeremonyFinishesOnceAndOnlyAsLogin(t *testing.T) {
	f := newFixture(t, testsupport.SQLite(t))
	ctx := context.Background()
	a := newSoftAuth(t, rpID, origin)
	f.register(t, f.alice, a)
	opts, id, err := f.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	answer := a.get(opts)
	if _, err := f.svc.FinishLogin(ctx, id, answer, audit.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, id, answer, audit.Client{}); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("replayed login: %v, want passkey.ErrCeremonyExpired", err)
	}

	regOpts, regID, err := f.svc.BeginRegistration(ctx, f.bob, "138****0002")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, regID, a.get(regOpts), audit.Client{}); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("login with a registration ceremony: %v, want passkey.ErrCeremonyExpired", err)
	}

	opts, id, err = f.svc.BeginLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(5 * time.Minute)
	if _, err := f.svc.FinishLogin(ctx, id, a.get(opts), audit.Client{}); !errors.Is(err, passkey.ErrCeremonyExpired) {
		t.Errorf("login after 5 minutes: %v, want passkey.ErrCeremonyExpired", err)
	}
}

func TestParseFinish(t *testing.T) {
	got, err := passkey.ParseFinish([]byte(`{"ceremony":"c1","name":"Work laptop","credential":{"id":"x"}}`))
	if err != nil || got.Ceremony != "c1" || got.Name != "Work laptop" || string(got.Credential) != `{"id":"x"}` {
		t.Errorf("ParseFinish = %+v, %v", got, err)
	}
	for _, bad := range []string{``, `[]`, `{"ceremony":"c1"}`, `{"credential":{}}`, `{"ceremony":1,"credential":{}}`} {
		if _, err := passkey.ParseFinish([]byte(bad)); !errors.Is(err, passkey.ErrVerification) {
			t.Errorf("ParseFinish(%s) = %v, want passkey.ErrVerification", bad, err)
		}
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("钥", passkey.MaxNameLen+5)
	cases := map[string]string{
		"Work laptop":            "Work laptop",
		"  two\n lines\t ":       "two lines",
		"":                       "Passkey",
		" \x00\u202e ":           "Passkey",
		"evil\u202egnp.exe":      "evil gnp.exe",
		"family 👨\u200d👩\u200d👧": "family 👨\u200d👩\u200d👧",
		long:                     strings.Repeat("钥", passkey.MaxNameLen),
	}
	for in, want := range cases {
		if got := passkey.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginFor_RefusesAnotherAccountsPasskey(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, st)
		alices, bobs := newSoftAuth(t, rpID, origin), newSoftAuth(t, rpID, origin)
		f.register(t, f.alice, alices)
		stored := f.register(t, f.bob, bobs)
		if _, err := f.loginFor(t, bobs, "alice"); !errors.Is(err, passkey.ErrOtherAccount) {
			t.Fatalf("bob's passkey for alice's sign-in = %v, want ErrOtherAccount", err)
		}
		if got := f.factor(t, "bob", stored.ID); !got.LastUsedAt.IsZero() {
			t.Errorf("the refused passkey was recorded as used at %v", got.LastUsedAt)
		}
		l, err := f.loginFor(t, alices, "alice")
		if err != nil || l.UserID != "alice" || !l.UserVerified {
			t.Errorf("alice's own passkey = %+v, %v; want alice, user verified", l, err)
		}
		bobs.flags = flagBE | flagBS // presence only, no user verification
		if l, err := f.loginFor(t, bobs, ""); err != nil || l.UserID != "bob" || l.UserVerified {
			t.Errorf("bob's passkey without UV for anyone = %+v, %v; want bob, not user verified", l, err)
		}
	})
}
