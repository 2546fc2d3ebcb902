package web_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/passkey"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// virtualAuthenticator is the AAGUID Chromium's virtual authenticator reports (see the passkey
// package's browser test); no real provider uses it.
const virtualAuthenticator = "01020304-0506-0708-0102-030405060708"

// testProviders is a data file that knows the virtual authenticator and one made-up vault.
const testProviders = `{"about": "test", "providers": [
	{"aaguid": "` + virtualAuthenticator + `", "name": "Chromium virtual authenticator", "source": "https://chromium.googlesource.com/chromium/src/+/main/device/fido/virtual_ctap2_device.cc"},
	{"aaguid": "0a0b0c0d-0e0f-1011-1213-1415161718ff", "name": "Test Vault", "source": "https://example.test/list"}]}`

func aaguidBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad AAGUID %q", s)
	}
	return b
}

// addPasskey stores a passkey factor for userID as a registration would, and returns its ID.
func addPasskey(t *testing.T, srv *webtest.Server, userID, name string, aaguid []byte, eligible, backedUp bool) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := srv.Store.InTx(ctx, func(tx *store.Tx) (err error) {
		id, err = tx.InsertFactor(ctx, store.Factor{
			UserID: userID, Kind: store.FactorPasskey, Name: name,
			CredentialID: []byte("credential " + name), PublicKey: []byte("key " + name), Transports: "internal",
			AAGUID: aaguid, BackupEligible: eligible, BackupState: backedUp, CreatedAt: srv.Clock.Now(),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type passkeyCard struct{ provider, backup string }

// passkeyCards reads the provider and backup lines of each factor card on My security.
func passkeyCards(t *testing.T, srv *webtest.Server, r *webtest.Response, ids ...int64) map[int64]passkeyCard {
	t.Helper()
	out := map[int64]passkeyCard{}
	for _, id := range ids {
		card := r.Doc.Find("#factor-" + itoa(id))
		if card.Length() != 1 {
			t.Fatalf("no card for factor %d", id)
		}
		out[id] = passkeyCard{
			provider: strings.TrimSpace(card.Find(".passkey-provider").Text()),
			backup:   strings.TrimSpace(card.Find(".passkey-backup").Text()),
		}
	}
	return out
}

func TestSecurity_PasskeyShowsItsProviderAndWhetherItIsSynced(t *testing.T) {
	test, err := passkey.LoadProviders(strings.NewReader(testProviders))
	if err != nil {
		t.Fatal(err)
	}
	srv := webtest.NewServer(t,
		webtest.WithConfig(func(c *config.Config) { c.MinSendTime = 0 }),
		webtest.WithParts(func(p *app.Parts) { p.Providers = test }))
	secret := enrolledTOTP(t, srv, "demo-en")
	synced := addPasskey(t, srv, "demo-en", "Laptop", aaguidBytes(t, virtualAuthenticator), true, true)
	canSync := addPasskey(t, srv, "demo-en", "Tablet", aaguidBytes(t, "0a0b0c0d-0e0f-1011-1213-1415161718ff"), true, false)
	unknown := addPasskey(t, srv, "demo-en", "Old key", aaguidBytes(t, "0a0b0c0d-0e0f-1011-1213-141516171800"), false, false)
	silent := addPasskey(t, srv, "demo-en", "Quiet phone", make([]byte, 16), true, true)

	c := signIn(t, srv, "demo-en", secret)
	r := srv.Get(t, c, "/security", nil)
	if r.StatusCode != 200 {
		t.Fatalf("/security: %d", r.StatusCode)
	}
	en := srv.Catalog.For("en")
	want := map[int64]passkeyCard{
		synced:  {"Chromium virtual authenticator", en.T("security.passkey.synced")},
		canSync: {"Test Vault", en.T("security.passkey.can_sync")},
		unknown: {en.T("factor.kind.passkey"), en.T("security.passkey.device_bound")},
		silent:  {en.T("factor.kind.passkey"), en.T("security.passkey.synced")},
	}
	for id, got := range passkeyCards(t, srv, r, synced, canSync, unknown, silent) {
		if got != want[id] {
			t.Errorf("factor %d: provider %q, backup %q; want %q, %q", id, got.provider, got.backup, want[id].provider, want[id].backup)
		}
	}
	if want[synced].backup == want[canSync].backup || want[canSync].backup == want[unknown].backup {
		t.Fatalf("the three backup states read alike: %+v", want)
	}
	// Each card still shows its own name, times and rename form.
	for id, name := range map[int64]string{synced: "Laptop", unknown: "Old key"} {
		card := r.Doc.Find("#factor-" + itoa(id))
		if got := strings.TrimSpace(card.Find("h3").Text()); got != name {
			t.Errorf("factor %d heading %q, want %q", id, got, name)
		}
		if card.Find(`form[action="/security/factors/`+itoa(id)+`/rename"] input[name=name]`).Length() != 1 {
			t.Errorf("factor %d has no rename form", id)
		}
	}
	// The authenticator app's card says what it is, and nothing about passkeys.
	fs, _ := srv.Store.Factors(context.Background(), "demo-en")
	app := r.Doc.Find("#factor-" + itoa(fs[0].ID))
	if fs[0].Kind != store.FactorTOTP || app.Find(".passkey-provider, .passkey-backup").Length() != 0 ||
		!strings.Contains(app.Text(), en.T("factor.kind.totp")) {
		t.Errorf("authenticator app card: %q", strings.Join(strings.Fields(app.Text()), " "))
	}
}

func TestSecurity_PasskeyProviderFromTheBuiltInFile(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-zh")
	gpm := addPasskey(t, srv, "demo-zh", "Pixel", aaguidBytes(t, "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), true, true)
	virtual := addPasskey(t, srv, "demo-zh", "Test", aaguidBytes(t, virtualAuthenticator), false, false)

	c := signIn(t, srv, "demo-zh", secret)
	r := srv.Get(t, c, "/security", nil)
	zh := srv.Catalog.For("zh-Hans")
	got := passkeyCards(t, srv, r, gpm, virtual)
	if want := (passkeyCard{"Google Password Manager", zh.T("security.passkey.synced")}); got[gpm] != want {
		t.Errorf("Google Password Manager passkey: %+v, want %+v", got[gpm], want)
	}
	// Without a test file, the virtual authenticator is nobody the portal knows.
	if want := (passkeyCard{zh.T("factor.kind.passkey"), zh.T("security.passkey.device_bound")}); got[virtual] != want {
		t.Errorf("unknown passkey: %+v, want %+v", got[virtual], want)
	}
}
