package partner_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/partner"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

const audience = "https://portal.example"

var (
	now    = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	secret = []byte("a-partner-secret-of-at-least-32-characters")
	hmacP  = config.Partner{ID: "shop", Name: "Shop", Origins: []string{"https://shop.example", "https://m.shop.example"}, HMACSecret: secret}
)

// sign makes a compact launch token with key under alg.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, c partner.Claims) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claims are valid claims for user u1 from partner "shop", changed by fn.
func claims(fn func(c *partner.Claims)) partner.Claims {
	c := partner.Claims{Claims: jwt.Claims{Issuer: "shop", Subject: "u1", Audience: jwt.Audience{audience},
		Expiry: jwt.NewNumericDate(now.Add(2 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "nonce-0123456789abcdef"}}
	if fn != nil {
		fn(&c)
	}
	return c
}

func TestParse_AcceptsEachKindOfKey(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		p    config.Partner
		alg  jose.SignatureAlgorithm
		key  any
	}{
		{"HS256", hmacP, jose.HS256, secret},
		{"EdDSA", config.Partner{ID: "shop", Origins: hmacP.Origins, PublicKey: edPub}, jose.EdDSA, edPriv},
		{"ES256", config.Partner{ID: "shop", Origins: hmacP.Origins, PublicKey: &ecPriv.PublicKey}, jose.ES256, ecPriv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := partner.Parse(tc.p, audience, sign(t, tc.alg, tc.key, claims(nil)), now)
			if err != nil {
				t.Fatal(err)
			}
			if l.UserID != "u1" || l.Nonce != "nonce-0123456789abcdef" || l.Origin != "https://shop.example" || !l.Expires.Equal(now.Add(2*time.Minute)) {
				t.Errorf("launch %+v", l)
			}
		})
	}
}

func TestParse_RefusesWhatIsNotAValidLaunch(t *testing.T) {
	otherSecret := []byte("another-secret-of-at-least-32-characters!!")
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edP := config.Partner{ID: "shop", Origins: hmacP.Origins, PublicKey: edPub}
	for _, tc := range []struct {
		name  string
		p     config.Partner
		token string
		want  error
	}{
		{"empty", hmacP, "", partner.ErrInvalid},
		{"garbage", hmacP, "not.a.token", partner.ErrInvalid},
		{"too long", hmacP, strings.Repeat("a", partner.MaxToken+1), partner.ErrInvalid},
		{"another secret", hmacP, sign(t, jose.HS256, otherSecret, claims(nil)), partner.ErrInvalid},
		{"HMAC for a public-key partner (alg confusion)", edP, sign(t, jose.HS256, []byte(edPub), claims(nil)), partner.ErrInvalid},
		{"HS512 instead of HS256", hmacP, sign(t, jose.HS512, append(secret, secret...), claims(nil)), partner.ErrInvalid},
		{"expired", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) {
			c.IssuedAt, c.Expiry = jwt.NewNumericDate(now.Add(-3*time.Minute)), jwt.NewNumericDate(now.Add(-time.Minute))
		})), partner.ErrExpired},
		{"lives longer than 5 minutes", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) {
			c.IssuedAt, c.Expiry = nil, jwt.NewNumericDate(now.Add(10*time.Minute))
		})), partner.ErrInvalid},
		{"6 minutes from iat", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) {
			c.IssuedAt, c.Expiry = jwt.NewNumericDate(now.Add(-2*time.Minute)), jwt.NewNumericDate(now.Add(4*time.Minute))
		})), partner.ErrInvalid},
		{"no exp", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Expiry = nil })), partner.ErrInvalid},
		{"no user", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Subject = "" })), partner.ErrInvalid},
		{"no nonce", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.ID = "" })), partner.ErrInvalid},
		{"short nonce", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.ID = "123" })), partner.ErrInvalid},
		{"another issuer", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Issuer = "other" })), partner.ErrInvalid},
		{"another audience", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Audience = jwt.Audience{"https://evil.example"} })), partner.ErrInvalid},
		{"not yet valid", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })), partner.ErrInvalid},
		{"an origin not the partner's", hmacP, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Origin = "https://evil.example" })), partner.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := partner.Parse(tc.p, audience, tc.token, now); !errors.Is(err, tc.want) {
				t.Errorf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
	// The origin claim picks another of the partner's origins.
	l, err := partner.Parse(hmacP, audience, sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.Origin = "https://m.shop.example" })), now)
	if err != nil || l.Origin != "https://m.shop.example" {
		t.Errorf("origin claim: %+v, %v", l, err)
	}
}

// FuzzParse feeds the token parser what a stranger can send: it never panics, and accepts
// nothing but a token signed with the partner's key.
func FuzzParse(f *testing.F) {
	f.Add(sign(f, jose.HS256, secret, claims(nil)))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.")
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Repeat(".", 100))
	f.Fuzz(func(t *testing.T, token string) {
		l, err := partner.Parse(hmacP, audience, token, now)
		if err == nil {
			// Only a token with a valid signature gets here: it must still be a complete launch.
			if l.UserID == "" || l.Nonce == "" || l.Expires.Sub(now) > partner.MaxLifetime+partner.Skew {
				t.Fatalf("accepted an incomplete launch %+v", l)
			}
		}
	})
}

// Fifty requests with one token, spread over the instances of each deployment, open exactly one
// launch: the nonce is taken in one statement.
func TestOpen_OneTokenOpensOnceAcrossInstances(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		ctx := context.Background()
		if _, err := stores[0].UpsertUsers(ctx, []campaign.RosterEntry{{ID: "u1", Phone: "+8613800000001",
			Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, now); err != nil {
			t.Fatal(err)
		}
		partners := func(id string) (config.Partner, bool) { return hmacP, id == "shop" }
		services := make([]*partner.Service, len(stores))
		for i, st := range stores {
			services[i] = partner.New(st, clock.NewFake(now), partners, audience)
		}
		token := sign(t, jose.HS256, secret, claims(nil))
		var wg sync.WaitGroup
		var mu sync.Mutex
		opened, replayed := 0, 0
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := services[i%len(services)].Open(ctx, "shop", token)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					opened++
				case errors.Is(err, partner.ErrReplayed):
					replayed++
				default:
					t.Errorf("Open: %v", err)
				}
			}()
		}
		wg.Wait()
		if opened != 1 || replayed != 49 {
			t.Errorf("opened %d, replayed %d; want 1 and 49", opened, replayed)
		}
		// Another nonce opens; an unknown user and an unknown partner do not.
		if _, err := services[0].Open(ctx, "shop", sign(t, jose.HS256, secret, claims(func(c *partner.Claims) { c.ID = "nonce-another-one-12345" }))); err != nil {
			t.Errorf("a new nonce: %v", err)
		}
		if _, err := services[0].Open(ctx, "shop", sign(t, jose.HS256, secret, claims(func(c *partner.Claims) {
			c.Subject, c.ID = "nobody", "nonce-for-nobody-123456"
		}))); !errors.Is(err, partner.ErrUnknownUser) {
			t.Errorf("unknown user: %v", err)
		}
		if _, err := services[0].Open(ctx, "other", token); !errors.Is(err, partner.ErrUnknownPartner) {
			t.Errorf("unknown partner: %v", err)
		}
	})
}
