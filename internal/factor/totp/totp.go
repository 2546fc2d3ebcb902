// Package totp is the authenticator-app factor (RFC 6238): a 160-bit secret shown as a QR code
// and in groups of four, codes of 6 digits from HMAC-SHA-1 over 30-second steps, accepted one
// step early or late. The secret is stored sealed (internal/sealbox) and bound to its user; the
// last used step is stored beside it, so a code works once.
package totp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/smsretire/smsretire/internal/codeinput"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/store"
)

// The code parameters every common authenticator app supports.
const (
	Digits     = 6                // digits per code
	Period     = 30 * time.Second // length of one step
	SecretSize = 20               // bytes of secret: 160 bits, as RFC 4226 recommends
	Skew       = 1                // steps accepted before and after the current one
	QRSize     = 256              // pixels across the QR image by default
	quietZone  = 4                // white modules around the QR code, as the QR standard asks
)

// ErrWrongCode means the code matches no step within the accepted window.
var ErrWrongCode = errors.New("totp: wrong code")

// ErrReplayed means the code was right but its step, or a later one, was used already.
var ErrReplayed = errors.New("totp: code already used")

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Key is a new secret on its way to the user's authenticator app.
type Key struct {
	Secret string // base32 without padding, as apps take it
	URL    string // otpauth://totp/… with issuer and account name
}

// Names returns what the app shows for the key: the issuer (the service's name) and the account's
// label, as its URL carries them.
func (k Key) Names() (issuer, account string) {
	key, err := otp.NewKeyFromURL(k.URL)
	if err != nil {
		return "", ""
	}
	return key.Issuer(), key.AccountName()
}

// GroupedSecret is the secret for manual entry, in groups of four.
func (k Key) GroupedSecret() string { return Group(k.Secret) }

// QRPNG draws the key's otpauth URL as a QR code (error correction M) in a PNG of size×size
// pixels, black on white, with the standard four-module quiet zone so apps read it on any page.
func (k Key) QRPNG(size int) ([]byte, error) {
	code, err := qr.Encode(k.URL, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("totp qr: %w", err)
	}
	n := code.Bounds().Dx()
	scale := size / (n + 2*quietZone)
	if scale < 1 {
		return nil, fmt.Errorf("totp qr: %d px is too small for %d modules", size, n)
	}
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	off := (size - n*scale) / 2
	for y := range n {
		for x := range n {
			if color.GrayModel.Convert(code.At(x, y)).(color.Gray).Y >= 128 {
				continue
			}
			for dy := range scale {
				row := img.Pix[(off+y*scale+dy)*img.Stride:]
				for dx := range scale {
					row[off+x*scale+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp qr: %w", err)
	}
	return buf.Bytes(), nil
}

// pngEncoder reuses its compressor's buffers across images (about 1 MB each, without the pool).
var pngEncoder = png.Encoder{BufferPool: &pngBuffers{}}

type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// QRDataURL is QRPNG as a data: URL for an <img> (the portal's CSP allows img-src data:).
func (k Key) QRDataURL(size int) (string, error) {
	b, err := k.QRPNG(size)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}

// Group writes a base32 secret in groups of four characters separated by spaces, easier to copy
// by hand.
func Group(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// StepAt is the number of the 30-second step that t falls in, counted from the Unix epoch.
func StepAt(t time.Time) int64 {
	return int64(math.Floor(float64(t.Unix()) / Period.Seconds()))
}

// CodeAt is the 6-digit code of a base32 secret at time t, as an authenticator app shows it.
func CodeAt(secret string, t time.Time) (string, error) {
	return code(secret, StepAt(t))
}

func code(secret string, step int64) (string, error) {
	if step < 0 {
		return "", errors.New("totp: time before the epoch")
	}
	c, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("totp code: %w", err)
	}
	return c, nil
}

// Validate checks a code typed for a base32 secret at now, accepting the current step and one
// step on either side for clock drift. It returns the step that matched, which the caller passes
// to store.UseTOTPStep so the code cannot be used again. Spaces, dashes and full-width digits in
// the input are accepted; the comparison takes the same time whatever the digits.
func Validate(secret, code string, now time.Time) (step int64, ok bool) {
	return validateAfter(secret, code, now, math.MinInt64)
}

// validateAfter is Validate considering only steps later than after (the last step used), so a
// code that happens to match an old step and a new one is still accepted for the new one.
func validateAfter(secret, input string, now time.Time, after int64) (int64, bool) {
	input, ok := codeinput.Normalize(input, codeinput.Digits, Digits)
	if !ok {
		return 0, false
	}
	current := StepAt(now)
	var matched int64
	found := 0
	// Current step first, then the one before, then the one after; every candidate is computed
	// and compared, so the time taken does not depend on which one matched.
	for _, step := range [...]int64{current, current - 1, current + 1} {
		want, err := code(secret, step)
		if err != nil {
			return 0, false
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(input))
		if eq == 1 && step > after && found == 0 {
			matched, found = step, 1
		}
	}
	return matched, found == 1
}

// Service creates and checks authenticator-app factors.
type Service struct {
	st     *store.SQL
	box    *sealbox.Box
	issuer string

	qrMu    sync.Mutex
	qrs     map[string]string // size and key URL → the QR image as a data: URL
	qrOrder []string          // the keys of qrs, oldest first
}

// qrCached is how many keys' QR images the service keeps, for pages shown again while a key
// waits for its first code.
const qrCached = 256

// QRDataURL is k's QR image (Key.QRDataURL), drawn once per key and size: the set-up page shown
// again (a reload, a wrong code) takes it from a small cache in this process. Drawing one costs
// a few milliseconds, most of it the QR library scoring its eight masks.
func (s *Service) QRDataURL(k Key, size int) (string, error) {
	id := strconv.Itoa(size) + " " + k.URL
	s.qrMu.Lock()
	img, ok := s.qrs[id]
	s.qrMu.Unlock()
	if ok {
		return img, nil
	}
	img, err := k.QRDataURL(size)
	if err != nil {
		return "", err
	}
	s.qrMu.Lock()
	defer s.qrMu.Unlock()
	if s.qrs == nil {
		s.qrs = map[string]string{}
	}
	if _, ok := s.qrs[id]; !ok {
		if len(s.qrOrder) >= qrCached {
			delete(s.qrs, s.qrOrder[0])
			s.qrOrder = s.qrOrder[1:]
		}
		s.qrs[id] = img
		s.qrOrder = append(s.qrOrder, id)
	}
	return img, nil
}

// New returns the TOTP service. issuer is the name apps show above the code (the service name);
// box seals the secrets at rest.
func New(st *store.SQL, box *sealbox.Box, issuer string) (*Service, error) {
	if strings.TrimSpace(issuer) == "" || strings.Contains(issuer, ":") {
		return nil, fmt.Errorf("totp: issuer %q must be set and must not contain a colon", issuer)
	}
	return &Service{st: st, box: box, issuer: issuer}, nil
}

// NewKey makes a fresh 160-bit secret for an account. label is what the app shows under the
// issuer (the service's name): the user's name or masked phone, never an internal ID. A colon,
// which separates issuer and account in the key's URL, becomes a space.
func (s *Service) NewKey(label string) (Key, error) {
	accountName := strings.TrimSpace(strings.ReplaceAll(label, ":", " "))
	if accountName == "" {
		return Key{}, fmt.Errorf("totp: no label for the account")
	}
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("totp secret: %w", err)
	}
	k, err := pqtotp.Generate(pqtotp.GenerateOpts{Issuer: s.issuer, AccountName: accountName, Secret: secret,
		Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return Key{}, fmt.Errorf("totp key: %w", err)
	}
	return Key{Secret: k.Secret(), URL: withoutDefaults(k.URL())}, nil
}

// withoutDefaults drops from a key's URL the parameters that only repeat what the Key URI format
// makes the default and every app assumes (SHA1, 6 digits, 30 seconds): the QR code is then a
// version or two smaller, and drawing it, most of it scoring the library's eight masks on every
// module, takes about a third less.
func withoutDefaults(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for name, def := range map[string]string{"algorithm": "SHA1", "digits": strconv.Itoa(Digits), "period": strconv.Itoa(int(Period / time.Second))} {
		if q.Get(name) == def {
			q.Del(name)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Confirm checks the first code the user typed from the app for secret and, when it is right,
// returns the factor to store: the secret sealed to the user, and the code's step as the last
// used so the same code cannot sign in afterwards. It returns ErrWrongCode otherwise.
func (s *Service) Confirm(userID, name, secret, input string, now time.Time) (store.Factor, error) {
	raw, err := b32.DecodeString(strings.ToUpper(strings.ReplaceAll(secret, " ", "")))
	if err != nil || len(raw) != SecretSize {
		return store.Factor{}, errors.New("totp: malformed secret")
	}
	step, ok := Validate(b32.EncodeToString(raw), input, now)
	if !ok {
		return store.Factor{}, ErrWrongCode
	}
	sealed, keyID, err := s.box.Seal(raw, additionalData(userID))
	if err != nil {
		return store.Factor{}, fmt.Errorf("totp confirm: %w", err)
	}
	return store.Factor{UserID: userID, Kind: store.FactorTOTP, Name: name, Secret: sealed, SecretKeyID: keyID,
		LastTOTPStep: step, CreatedAt: now}, nil
}

// Secret opens a stored factor's secret, base32 without padding.
func (s *Service) Secret(f store.Factor) (string, error) {
	if f.Kind != store.FactorTOTP {
		return "", fmt.Errorf("totp: factor %d is a %s factor", f.ID, f.Kind)
	}
	raw, err := s.box.Open(f.Secret, f.SecretKeyID, additionalData(f.UserID))
	if err != nil {
		return "", fmt.Errorf("totp secret of factor %d: %w", f.ID, err)
	}
	return b32.EncodeToString(raw), nil
}

// Check checks a sign-in code against a stored factor and uses up its step in the database,
// atomically, so a code works once even under racing requests. It returns ErrWrongCode for a
// code outside the window and ErrReplayed for a right code whose step (or a later one) was used.
func (s *Service) Check(ctx context.Context, f store.Factor, input string, now time.Time) error {
	step, err := s.Match(f, input, now)
	if err != nil {
		return err
	}
	used, err := s.st.UseTOTPStep(ctx, f.ID, step, now)
	if err != nil {
		return fmt.Errorf("totp check: %w", err)
	}
	if !used {
		return ErrReplayed
	}
	return nil
}

// Match checks a code against a stored factor without using it up, and returns the step it
// matched, which the caller records atomically where the factor lives (Check for a user's,
// internal/staff for a staff member's). ErrWrongCode for a code outside the window, ErrReplayed
// for a right code whose step (or a later one) was used.
func (s *Service) Match(f store.Factor, input string, now time.Time) (int64, error) {
	secret, err := s.Secret(f)
	if err != nil {
		return 0, err
	}
	step, ok := validateAfter(secret, input, now, f.LastTOTPStep)
	if !ok {
		if _, right := Validate(secret, input, now); right {
			return 0, ErrReplayed
		}
		return 0, ErrWrongCode
	}
	return step, nil
}

func additionalData(userID string) []byte { return []byte("totp:" + userID) }

// SetupTTL is how long a shown secret may still be confirmed.
const SetupTTL = 15 * time.Minute

// Setup is a secret shown to a user to confirm with a code from the app, and the ceremony that
// lets the confirmation add one factor only, however often it is submitted.
type Setup struct {
	Key      Key
	Ceremony string
}

// BeginSetup makes a new secret for userID (accountName is what the app shows) and records its
// ceremony in the database, to be confirmed within SetupTTL of now on any instance.
func (s *Service) BeginSetup(ctx context.Context, userID, accountName string, now time.Time) (Setup, error) {
	key, err := s.NewKey(accountName)
	if err != nil {
		return Setup{}, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Setup{}, fmt.Errorf("totp setup: %w", err)
	}
	c := store.Ceremony{ID: hex.EncodeToString(id), UserID: userID, Kind: ceremonyKind, Data: []byte("{}"), ExpiresAt: now.Add(SetupTTL)}
	if err := s.st.SaveCeremony(ctx, c); err != nil {
		return Setup{}, fmt.Errorf("totp setup: %w", err)
	}
	return Setup{Key: key, Ceremony: c.ID}, nil
}

// TakeSetup uses up the ceremony of a setup inside tx, in the transaction that stores its factor
// (enroll.Add's claim); store.ErrNotFound when a double submit took it first or it expired.
func TakeSetup(ctx context.Context, tx *store.Tx, ceremony string, now time.Time) error {
	_, err := tx.TakeCeremony(ctx, ceremony, ceremonyKind, now)
	return err
}

// ceremonyKind is the kind of a setup's ceremony row.
const ceremonyKind = "totp"
