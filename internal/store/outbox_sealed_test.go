package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

func unique(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// The code of a message is sealed before its row is written: no page, log or dead row of either
// database ever holds it in plaintext, from enqueue through a retry to delivery or giving up.
// The recipient, which is not secret, is found by the same scan: the scan does see the data.
func TestEnqueueOutbox_NeverWritesTheCodeToDisk(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		scan := testsupport.StartDiskScan(t, s)
		code, fail := unique("code-"), unique("code-")
		to := unique("recipient-") + "@example.com"
		item := func(secret string) store.OutboxItem {
			return store.OutboxItem{Kind: store.OutboxEmail, Topic: "verify.code", UserID: "u1", CreatedAt: t0,
				Payload: []byte(`{"to":"` + to + `","locale":"en","template":"verify.code","data":{"minutes":"10"},"secret":"` + secret + `"}`)}
		}
		sent := enqueue(t, s, item(code))
		failed := enqueue(t, s, item(fail))
		check := func(when string) {
			t.Helper()
			for _, secret := range []string{code, fail} {
				if where := scan.Find(secret); len(where) > 0 {
					t.Errorf("%s: the code is on disk in %v", when, where)
				}
			}
			if where := scan.Find(to); len(where) == 0 {
				t.Fatalf("%s: the scan did not find the recipient either: it reads nothing", when)
			}
		}
		check("after enqueue")
		if p := storedPayload(t, s, sent); strings.Contains(p, "secret") || !strings.Contains(p, `"template":"verify.code"`) {
			t.Errorf("stored payload = %s", p)
		}

		got := claim(t, s, t0, 10)
		if len(got) != 2 || got[0].ID != sent || got[0].Secret != code || got[1].Secret != fail {
			t.Fatalf("claimed %+v", got)
		}
		if err := s.MarkOutboxRetry(ctx, sent, "w1", t0.Add(5*time.Second), "421 try later"); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, t0.Add(5*time.Second), 10); len(got) != 1 || got[0].Secret != code {
			t.Fatalf("claimed again %+v", got)
		}
		check("after a retry")
		if err := s.MarkOutboxSent(ctx, t0.Add(6*time.Second), sent); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxFailed(ctx, failed, "w1", t0.Add(6*time.Second), "550 no such user"); err != nil {
			t.Fatal(err)
		}
		check("after delivery")
		var n int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE secret IS NOT NULL OR secret_key_id <> ''`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d finished items still hold their sealed codes (%v)", n, err)
		}
	})
}

// A sealed code is bound to its message: copied into another user's row it does not open, and
// a store without the key cannot send it.
func TestClaimOutbox_SealedCodeOpensOnlyForItsMessage(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		a := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		b := enqueue(t, s, codeItem("u2", store.OutboxSMS, t0))
		q := `UPDATE outbox SET secret = (SELECT secret FROM outbox WHERE id = ?) WHERE id = ?`
		if s.Dialect() == store.Postgres {
			q = `UPDATE outbox SET secret = (SELECT secret FROM outbox WHERE id = $1) WHERE id = $2`
		}
		if _, err := s.DB().ExecContext(ctx, q, a, b); err != nil {
			t.Fatal(err)
		}
		got := claim(t, s, t0, 10)
		if len(got) != 2 || got[0].Secret != "493817" || got[1].Secret != "" || !errors.Is(got[1].SecretErr, sealbox.ErrOpen) {
			t.Fatalf("claimed %+v", got)
		}
	})
}

func TestEnqueueOutbox_RefusesACodeWithoutASealbox(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(ctx, config.Database{Driver: "sqlite", Path: t.TempDir() + "/x.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueOutbox(ctx, codeItem("u1", store.OutboxSMS, t0))
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "sealbox") {
		t.Fatalf("enqueue without a sealbox: %v", err)
	}
	// A message without a code needs none.
	err = s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueOutbox(ctx, store.OutboxItem{Kind: store.OutboxEvent, Topic: "user.migrated", CreatedAt: t0, Payload: []byte(`{"id":"evt_1","type":"user.migrated"}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Items written before codes were sealed hold theirs in the payload: the sweep a worker runs at
// start seals them, and they are delivered as if written today.
func TestSealLegacyOutboxSecrets(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		q := `INSERT INTO outbox (kind, topic, user_id, payload, status, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
		if s.Dialect() == store.Postgres {
			q = `INSERT INTO outbox (kind, topic, user_id, payload, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
		}
		legacy := `{"to":"+8613800000001","locale":"en","template":"verify.code","data":{"minutes":"10"},"secret":"493817"}`
		for _, status := range []string{"pending", "sent"} {
			if _, err := s.DB().ExecContext(ctx, q, "sms", "verify.code", "u1", legacy, status, t0.UnixMilli(), t0.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.SealLegacyOutboxSecrets(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sealed %d, %v; want the pending item", n, err)
		}
		if n, err := s.SealLegacyOutboxSecrets(ctx); err != nil || n != 0 {
			t.Errorf("second sweep sealed %d, %v", n, err)
		}
		got := claim(t, s, t0, 10)
		if len(got) != 1 || got[0].Secret != "493817" || strings.Contains(string(got[0].Payload), "493817") {
			t.Fatalf("claimed %+v", got)
		}
		if p := storedPayload(t, s, got[0].ID); strings.Contains(p, "493817") {
			t.Errorf("stored payload still holds the code: %s", p)
		}
	})
}

// A store that opens what another instance sealed needs the same keys; with a rotated key list
// (new key first, old one kept) it still opens codes sealed before the rotation.
func TestClaimOutbox_OpensCodesSealedBeforeAKeyRotation(t *testing.T) {
	s := testsupport.SQLite(t)
	oldKey, newKey := make([]byte, 32), make([]byte, 32)
	rand.Read(oldKey)
	rand.Read(newKey)
	before, _ := sealbox.New([]keyring.EncKey{{ID: "k1", Key: oldKey}})
	after, _ := sealbox.New([]keyring.EncKey{{ID: "k2", Key: newKey}, {ID: "k1", Key: oldKey}})
	s.SealSecretsWith(before)
	enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
	s.SealSecretsWith(after)
	if got := claim(t, s, t0, 10); len(got) != 1 || got[0].Secret != "493817" {
		t.Fatalf("claimed %+v", got)
	}
}
