package totp_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/color"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, the ASCII bytes "12345678901234567890",
// in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// rfcVectors are the SHA-1 rows of RFC 6238 Appendix B: time, step and 8-digit code.
var rfcVectors = []struct {
	unix int64
	step int64
	code string
}{
	{59, 0x1, "94287082"},
	{1111111109, 0x23523EC, "07081804"},
	{1111111111, 0x23523ED, "14050471"},
	{1234567890, 0x273EF07, "89005924"},
	{2000000000, 0x3F940AA, "69279037"},
	{20000000000, 0x27BC86AA, "65353130"},
}

var (
	t0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	k1 = keyring.EncKey{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}
	k2 = keyring.EncKey{ID: "k2", Key: bytes.Repeat([]byte{2}, 32)}
)

func TestRFC6238Vectors_EightDigits(t *testing.T) {
	opts := pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1}
	for _, v := range rfcVectors {
		at := time.Unix(v.unix, 0).UTC()
		got, err := pqtotp.GenerateCodeCustom(rfcSecret, at, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.code {
			t.Errorf("code at %d = %s, want %s", v.unix, got, v.code)
		}
		if ok, err := pqtotp.ValidateCustom(v.code, rfcSecret, at, opts); err != nil || !ok {
			t.Errorf("ValidateCustom(%s) at %d = %v, %v", v.code, v.unix, ok, err)
		}
	}
}

func TestRFC6238Vectors_SixDigits(t *testing.T) {
	for _, v := range rfcVectors {
		at := time.Unix(v.unix, 0).UTC()
		six := v.code[2:] // the 6-digit code is the 8-digit one mod 10^6
		if got := totp.StepAt(at); got != v.step {
			t.Errorf("StepAt(%d) = %#x, want %#x", v.unix, got, v.step)
		}
		if got, err := totp.CodeAt(rfcSecret, at); err != nil || got != six {
			t.Errorf("CodeAt(%d) = %s, %v; want %s", v.unix, got, err, six)
		}
		step, ok := totp.Validate(rfcSecret, six, at)
		if !ok || step != v.step {
			t.Errorf("Validate(%s) at %d = %#x, %v; want %#x, true", six, v.unix, step, ok, v.step)
		}
	}
}

func TestValidate_AcceptsOneStepOfSkew(t *testing.T) {
	now := time.Unix(1111111111, 0)
	current := totp.StepAt(now)
	for _, tc := range []struct {
		name   string
		offset int64 // steps between the app's clock and ours
		ok     bool
	}{
		{"two steps behind", -2, false},
		{"one step behind", -1, true},
		{"in step", 0, true},
		{"one step ahead", 1, true},
		{"two steps ahead", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := totp.CodeAt(rfcSecret, now.Add(time.Duration(tc.offset)*totp.Period))
			if err != nil {
				t.Fatal(err)
			}
			step, ok := totp.Validate(rfcSecret, code, now)
			if ok != tc.ok {
				t.Fatalf("Validate = %v, want %v", ok, tc.ok)
			}
			if ok && step != current+tc.offset {
				t.Errorf("matched step %d, want %d", step, current+tc.offset)
			}
		})
	}
}

func TestValidate_AcceptsTolerantInput(t *testing.T) {
	at := time.Unix(59, 0)
	for _, in := range []string{"287082", " 287 082 ", "287-082", "２８７０８２", "287\u3000082"} {
		if _, ok := totp.Validate(rfcSecret, in, at); !ok {
			t.Errorf("Validate(%q) refused", in)
		}
	}
}

func TestValidate_RefusesMalformedOrWrongCodes(t *testing.T) {
	at := time.Unix(59, 0)
	for _, in := range []string{"", "28708", "2870822", "94287082", "28708a", "287082\n", "287083", "000000"} {
		if _, ok := totp.Validate(rfcSecret, in, at); ok {
			t.Errorf("Validate(%q) accepted", in)
		}
	}
	if _, ok := totp.Validate("not base32!", "287082", at); ok {
		t.Error("Validate accepted a code for a malformed secret")
	}
}

func TestGroup_SplitsInFours(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ABC", "ABC"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD E"},
		{rfcSecret, "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"},
	} {
		if got := totp.Group(tc.in); got != tc.want {
			t.Errorf("Group(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func newService(t testing.TB, st *store.SQL, keys ...keyring.EncKey) *totp.Service {
	t.Helper()
	box, err := sealbox.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	s, err := totp.New(st, box, "短信退役 Portal")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewKey_MakesA160BitSecretAndAnOtpauthURL(t *testing.T) {
	s := newService(t, nil, k1)
	k, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q decodes to %d bytes, %v; want 20", k.Secret, len(raw), err)
	}
	if len(k.Secret) != 32 || strings.Count(k.GroupedSecret(), " ") != 7 {
		t.Errorf("secret %q grouped as %q", k.Secret, k.GroupedSecret())
	}
	u, err := url.Parse(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/短信退役 Portal:alice" {
		t.Errorf("URL %s: scheme %q host %q path %q", k.URL, u.Scheme, u.Host, u.Path)
	}
	// The defaults of the Key URI format (SHA1, 6 digits, 30 s) are left out, keeping the QR small.
	for name, want := range map[string]string{"secret": k.Secret, "issuer": "短信退役 Portal", "algorithm": "", "digits": "", "period": ""} {
		if got := q.Get(name); got != want {
			t.Errorf("URL %s=%q, want %q", name, got, want)
		}
	}
	parsed, err := otp.NewKeyFromURL(k.URL)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Algorithm() != otp.AlgorithmSHA1 || parsed.Digits() != otp.DigitsSix || parsed.Period() != 30 || parsed.AccountName() != "alice" {
		t.Errorf("an app reads %s as %v, %v digits, %d s, account %q", k.URL, parsed.Algorithm(), parsed.Digits(), parsed.Period(), parsed.AccountName())
	}
	other, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	if other.Secret == k.Secret {
		t.Error("two keys share a secret")
	}
}

func TestNew_RefusesUnusableLabels(t *testing.T) {
	box, err := sealbox.New([]keyring.EncKey{k1})
	if err != nil {
		t.Fatal(err)
	}
	for _, issuer := range []string{"", " ", "a:b"} {
		if _, err := totp.New(nil, box, issuer); err == nil {
			t.Errorf("New accepted issuer %q", issuer)
		}
	}
	s := newService(t, nil, k1)
	for _, account := range []string{"", " ", ":"} {
		if _, err := s.NewKey(account); err == nil {
			t.Errorf("NewKey accepted account name %q", account)
		}
	}
}

func TestQRPNG_IsAReadableQRCodeOfTheRequestedSize(t *testing.T) {
	k, err := newService(t, nil, k1).NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.QRPNG(totp.QRSize)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got.Dx() != totp.QRSize || got.Dy() != totp.QRSize {
		t.Fatalf("image is %v, want %d×%d", got, totp.QRSize, totp.QRSize)
	}
	want, err := qr.Encode(k.URL, qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	n := want.Bounds().Dx()
	scale := totp.QRSize / (n + 8)
	off := (totp.QRSize - n*scale) / 2
	if scale < 2 || off < 4*scale {
		t.Fatalf("%d modules at %d px each, offset %d: no room for the quiet zone", n, scale, off)
	}
	dark := func(c color.Color) bool { return color.GrayModel.Convert(c).(color.Gray).Y < 128 }
	for y := range n {
		for x := range n {
			px := img.At(off+x*scale+scale/2, off+y*scale+scale/2)
			if dark(px) != dark(want.At(x, y)) {
				t.Fatalf("module (%d,%d) drawn wrong", x, y)
			}
		}
	}
	for _, p := range [][2]int{{0, 0}, {off - 1, off - 1}, {totp.QRSize - 1, totp.QRSize - 1}, {off + n*scale, off}} {
		if dark(img.At(p[0], p[1])) {
			t.Errorf("quiet zone pixel %v is dark", p)
		}
	}
	if !dark(img.At(off, off)) {
		t.Error("finder pattern corner is not dark")
	}
}

func TestQRPNG_RefusesASizeTooSmall(t *testing.T) {
	k, err := newService(t, nil, k1).NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.QRPNG(20); err == nil {
		t.Error("QRPNG(20) made an image")
	}
}

func TestQRDataURL_CarriesThePNG(t *testing.T) {
	k, err := newService(t, nil, k1).NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	u, err := k.QRDataURL(totp.QRSize)
	if err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(u, "data:image/png;base64,")
	if !ok {
		t.Fatalf("data URL starts %.30q", u)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != totp.QRSize {
		t.Errorf("PNG in data URL: %+v, %v", cfg, err)
	}
}

func TestConfirm_SealsTheSecretAndRecordsTheConfirmingStep(t *testing.T) {
	s := newService(t, nil, k1)
	k, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.CodeAt(k.Secret, t0.Add(-totp.Period))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Confirm("alice", "Phone", k.GroupedSecret(), code, t0)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k.Secret)
	if f.Kind != store.FactorTOTP || f.UserID != "alice" || f.Name != "Phone" || f.SecretKeyID != "k1" || !f.CreatedAt.Equal(t0) {
		t.Errorf("factor %+v", f)
	}
	if f.LastTOTPStep != totp.StepAt(t0)-1 {
		t.Errorf("LastTOTPStep = %d, want the confirming code's step %d", f.LastTOTPStep, totp.StepAt(t0)-1)
	}
	if bytes.Contains(f.Secret, raw) || bytes.Contains(f.Secret, []byte(k.Secret)) {
		t.Error("stored secret contains the plaintext")
	}
	if got, err := s.Secret(f); err != nil || got != k.Secret {
		t.Errorf("Secret = %q, %v; want %q", got, err, k.Secret)
	}
	stolen := f
	stolen.UserID = "mallory"
	if _, err := s.Secret(stolen); !errors.Is(err, sealbox.ErrOpen) {
		t.Errorf("Secret of a factor moved to another user = %v, want ErrOpen", err)
	}
}

func TestConfirm_RefusesAWrongCode(t *testing.T) {
	s := newService(t, nil, k1)
	k, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.CodeAt(k.Secret, t0.Add(-2*totp.Period))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Confirm("alice", "", k.Secret, code, t0); !errors.Is(err, totp.ErrWrongCode) {
		t.Errorf("Confirm with a stale code = %v, want ErrWrongCode", err)
	}
	if _, err := s.Confirm("alice", "", "SHORT", code, t0); err == nil || errors.Is(err, totp.ErrWrongCode) {
		t.Errorf("Confirm with a malformed secret = %v, want a secret error", err)
	}
}

func TestSecret_OpensAfterKeyRotation(t *testing.T) {
	old := newService(t, nil, k1)
	k, err := old.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.CodeAt(k.Secret, t0)
	f, err := old.Confirm("alice", "", k.Secret, code, t0)
	if err != nil {
		t.Fatal(err)
	}
	rotated := newService(t, nil, k2, k1)
	if got, err := rotated.Secret(f); err != nil || got != k.Secret {
		t.Errorf("rotated Secret = %q, %v", got, err)
	}
	if f2, err := rotated.Confirm("alice", "", k.Secret, code, t0); err != nil || f2.SecretKeyID != "k2" {
		t.Errorf("new factor sealed with %q, %v; want k2", f2.SecretKeyID, err)
	}
	if _, err := newService(t, nil, k2).Secret(f); !errors.Is(err, sealbox.ErrUnknownKey) {
		t.Errorf("Secret without k1 = %v, want ErrUnknownKey", err)
	}
}

// enrolled stores a confirmed TOTP factor for a new user and returns it as the store reads it.
func enrolled(t *testing.T, st *store.SQL, s *totp.Service) (store.Factor, string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
		t.Fatal(err)
	}
	k, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.CodeAt(k.Secret, t0)
	f, err := s.Confirm("alice", "Phone", k.Secret, code, t0)
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		f.ID, err = tx.InsertFactor(ctx, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Factor(ctx, "alice", f.ID)
	if err != nil {
		t.Fatal(err)
	}
	return stored, k.Secret
}

func TestUseTOTPStep_RefusesReplay(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		f, secret := enrolled(t, st, newService(t, st, k1))
		now := t0.Add(totp.Period)
		code, _ := totp.CodeAt(secret, now)
		step, ok := totp.Validate(secret, code, now)
		if !ok {
			t.Fatal("fresh code refused")
		}
		if used, err := st.UseTOTPStep(ctx, f.ID, step, now); err != nil || !used {
			t.Fatalf("first use = %v, %v", used, err)
		}
		step, ok = totp.Validate(secret, code, now)
		if !ok {
			t.Fatal("code no longer validates")
		}
		if used, err := st.UseTOTPStep(ctx, f.ID, step, now); err != nil || used {
			t.Errorf("second use of the same code = %v, %v; want false", used, err)
		}
		prev, _ := totp.CodeAt(secret, now.Add(-totp.Period))
		if step, ok := totp.Validate(secret, prev, now); !ok {
			t.Fatal("previous step's code refused by Validate")
		} else if used, err := st.UseTOTPStep(ctx, f.ID, step, now); err != nil || used {
			t.Errorf("use of the previous step after a later one = %v, %v; want false", used, err)
		}
	})
}

func TestCheck_CodeWorksOnce(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		s := newService(t, st, k1)
		f, secret := enrolled(t, st, s)
		at := func(d time.Duration) string {
			c, err := totp.CodeAt(secret, t0.Add(d))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		// f is read once and kept, as a handler that loaded it before a racing request would:
		// the database, not the struct, must refuse the replays.
		steps := []struct {
			name string
			now  time.Duration
			code string
			want error
		}{
			{"the enrollment code", 0, at(0), totp.ErrReplayed},
			{"a wrong code", totp.Period, "000000", totp.ErrWrongCode},
			{"the next code", totp.Period, at(totp.Period), nil},
			{"the same code again", totp.Period, at(totp.Period), totp.ErrReplayed},
			{"the same code next step", 2 * totp.Period, at(totp.Period), totp.ErrReplayed},
			{"a code two steps on", 3 * totp.Period, at(3 * totp.Period), nil},
			{"the step before it, still in the window", 3 * totp.Period, at(2 * totp.Period), totp.ErrReplayed},
			{"a code from too long ago", 5 * totp.Period, at(3 * totp.Period), totp.ErrWrongCode},
		}
		if at(totp.Period) == "000000" {
			t.Skip("the secret's code happens to be 000000")
		}
		for _, step := range steps {
			err := s.Check(ctx, f, step.code, t0.Add(step.now))
			if !errors.Is(err, step.want) || (step.want == nil && err != nil) {
				t.Errorf("%s: Check = %v, want %v", step.name, err, step.want)
			}
		}
		got, err := st.Factor(ctx, "alice", f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastTOTPStep != totp.StepAt(t0)+3 || !got.LastUsedAt.Equal(t0.Add(3*totp.Period)) {
			t.Errorf("stored last step %d used %v, want %d at %v", got.LastTOTPStep, got.LastUsedAt, totp.StepAt(t0)+3, t0.Add(3*totp.Period))
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	now := time.Unix(1111111111, 0)
	code, err := totp.CodeAt(rfcSecret, now.Add(totp.Period)) // the last candidate tried
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok := totp.Validate(rfcSecret, code, now); !ok {
			b.Fatal("refused")
		}
	}
}

func TestServiceQRDataURL_IsTheKeysImageAtEachSize(t *testing.T) {
	s := newService(t, nil, k1)
	k, err := s.NewKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	want, err := k.QRDataURL(240)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := s.QRDataURL(k, 240); err != nil || got != want {
			t.Fatalf("service's QR differs from the key's (%v)", err)
		}
	}
	if other, _ := s.QRDataURL(k, 120); other == want {
		t.Error("another size gave the cached image")
	}
}

// BenchmarkQRDataURL measures drawing a new key's QR code for the enrollment page.
func BenchmarkQRDataURL(b *testing.B) {
	k, err := newService(b, nil, k1).NewKey("138****8001")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.QRDataURL(totp.QRSize); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"287082", "２８７０８２", "287 082", "", "94287082", "\xff"} {
		f.Add(s)
	}
	at := time.Unix(59, 0)
	f.Fuzz(func(t *testing.T, in string) {
		step, ok := totp.Validate(rfcSecret, in, at)
		if !ok {
			return
		}
		// Whatever was typed, only this step's code (or a neighbour's) in some spelling passes.
		want, _ := totp.CodeAt(rfcSecret, time.Unix(step*30, 0))
		digits := strings.Map(func(r rune) rune {
			switch {
			case r >= '0' && r <= '9':
				return r
			case r >= '０' && r <= '９':
				return '0' + r - '０'
			}
			return -1
		}, in)
		if digits != want || step < totp.StepAt(at)-1 || step > totp.StepAt(at)+1 {
			t.Errorf("Validate(%q) accepted step %d, whose code is %s", in, step, want)
		}
	})
}

// The app lists the key under the service's name and the label given (a name or a masked phone),
// never an internal ID; a colon in the label, which would split it, becomes a space.
func TestNewKey_LabelsWithTheGivenNames(t *testing.T) {
	s := newService(t, nil, k1)
	for label, want := range map[string]string{"138****8001": "138****8001", "张伟": "张伟", "Dr: Li": "Dr  Li"} {
		k, err := s.NewKey(label)
		if err != nil {
			t.Fatal(err)
		}
		issuer, account := k.Names()
		if issuer != "短信退役 Portal" || account != want {
			t.Errorf("NewKey(%q) shows %q / %q, want the service / %q (%s)", label, issuer, account, want, k.URL)
		}
	}
}
