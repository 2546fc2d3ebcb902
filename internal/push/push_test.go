package push_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/approval"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/push"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// browser is what a browser keeps of its push subscription: the key pair and auth secret that
// RFC 8291 encrypts to.
type browser struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t *testing.T) browser {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return browser{key: k, auth: auth}
}

func (b browser) subscription(id, endpoint string) store.PushSubscription {
	return store.PushSubscription{ID: push.SubscriptionID(endpoint), SessionID: id, UserID: "alice", Endpoint: endpoint,
		P256dh: base64.RawURLEncoding.EncodeToString(b.key.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(b.auth), CreatedAt: t0}
}

// decrypt reads an aes128gcm body (RFC 8188) encrypted for the browser as RFC 8291 says, written
// here from the RFC, apart from the library that encrypted it.
func (b browser) decrypt(t *testing.T, body []byte) []byte {
	t.Helper()
	if len(body) < 21 {
		t.Fatalf("body of %d bytes", len(body))
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		t.Fatalf("keyid of %d bytes; want the server's 65-byte public key", idlen)
	}
	serverPub, ciphertext := body[21:21+idlen], body[21+idlen:]
	if uint32(len(ciphertext)) > rs {
		t.Fatalf("one record of %d bytes exceeds the record size %d", len(ciphertext), rs)
	}
	as, err := ecdh.P256().NewPublicKey(serverPub)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := b.key.ECDH(as)
	if err != nil {
		t.Fatal(err)
	}
	prkKey, _ := hkdf.Extract(sha256.New, secret, b.auth)
	info := append(append([]byte("WebPush: info\x00"), b.key.PublicKey().Bytes()...), serverPub...)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		t.Fatal("no last-record delimiter")
	}
	return plain[:len(plain)-1]
}

// checkVAPID verifies the Authorization header: vapid t=JWT, k=public key, the JWT signed with
// ES256 by that key, for the endpoint's origin, with the subject and an expiry within 24 hours.
func checkVAPID(t *testing.T, header, origin, subject string, keys keyring.VAPID) {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "vapid t=")
	if !ok {
		t.Fatalf("Authorization %q", header)
	}
	jwt, k, ok := strings.Cut(rest, ", k=")
	if !ok || k != keys.Public {
		t.Fatalf("k = %q; want the server's public key", k)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(k)
	x, y := elliptic.Unmarshal(elliptic.P256(), pub) //nolint:staticcheck // the test reads the point as the RFC writes it
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the VAPID token's signature does not verify with k")
	}
	var hdr struct{ Alg string }
	var claims struct {
		Aud, Sub string
		Exp      int64
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(h, &hdr)
	json.Unmarshal(c, &claims)
	if hdr.Alg != "ES256" || claims.Aud != origin || claims.Sub != subject {
		t.Fatalf("VAPID token: alg %q aud %q sub %q", hdr.Alg, claims.Aud, claims.Sub)
	}
	if exp := time.Unix(claims.Exp, 0); exp.Before(time.Now()) || exp.After(time.Now().Add(24*time.Hour)) {
		t.Fatalf("VAPID token expires at %v", exp)
	}
}

type received struct {
	header http.Header
	body   []byte
}

// A new request reaches every live subscription of the user, encrypted, with VAPID, TTL, Urgency
// and Topic; the payload names the request and what is asking, never the number. A subscription
// the push service answers 410 (or 404) is deleted; one that answers 500 is kept.
func TestSender_EncryptsSignsAndDeletesGoneSubscriptions(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		ctx := context.Background()
		var mu sync.Mutex
		got := map[string]received{}
		status := map[string]int{"/live": http.StatusCreated, "/gone": http.StatusGone, "/missing": http.StatusNotFound, "/broken": http.StatusInternalServerError}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			got[r.URL.Path] = received{header: r.Header.Clone(), body: body}
			mu.Unlock()
			w.WriteHeader(status[r.URL.Path])
		}))
		defer srv.Close()

		if _, err := st.UpsertUsers(ctx, []campaign.RosterEntry{{ID: "alice", Phone: "+8613800000001",
			Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}}}, t0); err != nil {
			t.Fatal(err)
		}
		browsers := map[string]browser{}
		for _, path := range []string{"/live", "/gone", "/missing", "/broken"} {
			sid := "session" + path
			err := st.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.CreateSession(ctx, store.Session{ID: sid, Kind: "user", Subject: "alice", CreatedAt: t0, LastSeenAt: t0, AuthAt: t0,
					ExpiresAt: t0.Add(time.Hour)}); err != nil {
					return err
				}
				_, err := tx.AddApprover(ctx, sid, "alice", t0)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			browsers[path] = newBrowser(t)
			if err := st.SavePushSubscription(ctx, browsers[path].subscription(sid, srv.URL+path)); err != nil {
				t.Fatal(err)
			}
		}
		vapid, _, err := keyring.Load(keyring.Env{}, t.TempDir(), true)
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewFake(t0)
		s := &push.Sender{St: st, Keys: vapid.VAPID, Subject: "mailto:ops@example.com", Clock: clk, Wait: true,
			Client: srv.Client(), Log: slog.New(slog.DiscardHandler),
			Words: func(_ context.Context, userID string, r approval.Request) push.Payload {
				return push.Payload{ID: r.ID, Title: "Approve a sign-in?", Body: "on Chrome", URL: "/approve/" + r.ID, IP: r.IP}
			}}
		req := approval.Request{ID: "Rq1d-0123456789abcdefgh", UserID: "alice", IP: "192.0.2.10", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Minute)}
		s.Notify(ctx, "alice", req)

		live, ok := got["/live"]
		if !ok || len(got) != 4 {
			t.Fatalf("the push service got %d requests", len(got))
		}
		h := live.header
		if h.Get("Content-Encoding") != "aes128gcm" || h.Get("TTL") != "120" || h.Get("Urgency") != "high" || h.Get("Topic") != req.ID {
			t.Fatalf("headers: Content-Encoding %q TTL %q Urgency %q Topic %q", h.Get("Content-Encoding"), h.Get("TTL"), h.Get("Urgency"), h.Get("Topic"))
		}
		checkVAPID(t, h.Get("Authorization"), srv.URL, "mailto:ops@example.com", vapid.VAPID)
		var p push.Payload
		if err := json.Unmarshal(browsers["/live"].decrypt(t, live.body), &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != req.ID || p.URL != "/approve/"+req.ID || p.IP != "192.0.2.10" || p.Title == "" {
			t.Fatalf("payload %+v", p)
		}
		left, err := st.PushSubscriptions(ctx, "alice", t0)
		if err != nil {
			t.Fatal(err)
		}
		var endpoints []string
		for _, l := range left {
			endpoints = append(endpoints, strings.TrimPrefix(l.Endpoint, srv.URL))
		}
		if strings.Join(endpoints, ",") != "/broken,/live" && strings.Join(endpoints, ",") != "/live,/broken" {
			t.Fatalf("subscriptions left: %v; want /live and /broken", endpoints)
		}
		// An ended session's subscription is not sent to.
		got = map[string]received{}
		clk.Advance(2 * time.Hour)
		s.Notify(ctx, "alice", req)
		if len(got) != 0 {
			t.Fatalf("sent to %d subscriptions of ended sessions", len(got))
		}
	})
}
