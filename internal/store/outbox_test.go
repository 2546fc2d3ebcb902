package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

const lease = time.Minute

func enqueue(t *testing.T, s *store.SQL, it store.OutboxItem) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := s.InTx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.EnqueueOutbox(ctx, it)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func codeItem(userID, kind string, at time.Time) store.OutboxItem {
	return store.OutboxItem{Kind: kind, Topic: "verify.code", UserID: userID, CreatedAt: at,
		Payload: []byte(`{"to":"+8613800000001","locale":"en","template":"verify.code","data":{"minutes":"10"},"secret":"493817"}`)}
}

func ids(items []store.OutboxItem) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// storedPayload reads the payload column as it is on disk.
func storedPayload(t *testing.T, s *store.SQL, id int64) string {
	t.Helper()
	var p string
	q := "SELECT payload FROM outbox WHERE id = ?"
	if s.Dialect() == store.Postgres {
		q = "SELECT payload FROM outbox WHERE id = $1"
	}
	if err := s.DB().QueryRow(q, id).Scan(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClaimOutbox_LeasesDueItemsUntilTheLeaseEnds(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		first := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		later := enqueue(t, s, codeItem("u2", store.OutboxEmail, t0.Add(time.Minute)))

		got, err := s.ClaimOutbox(ctx, t0, 10, lease)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != first || got[0].Attempts != 1 || got[0].Status != store.OutboxPending {
			t.Fatalf("claim at t0 = %+v, want only item %d on its first attempt", got, first)
		}
		if !strings.Contains(string(got[0].Payload), `"secret":"493817"`) || got[0].Kind != store.OutboxSMS || got[0].UserID != "u1" {
			t.Errorf("claimed item lacks what delivery needs: %+v", got[0])
		}
		if again, err := s.ClaimOutbox(ctx, t0.Add(30*time.Second), 10, lease); err != nil || len(again) != 0 {
			t.Fatalf("claim while leased = %v, %v; want nothing", ids(again), err)
		}
		// The worker holding the first item died: its lease ends and the item comes back.
		after, err := s.ClaimOutbox(ctx, t0.Add(lease), 10, lease)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 2 || after[0].ID != first || after[0].Attempts != 2 || after[1].ID != later || after[1].Attempts != 1 {
			t.Fatalf("claim after the lease = %+v", after)
		}
	})
}

func TestClaimOutbox_HonoursLimitOldestFirst(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		var want []int64
		for i := range 5 {
			want = append(want, enqueue(t, s, codeItem(fmt.Sprint("u", i), store.OutboxSMS, t0.Add(time.Duration(i)*time.Second))))
		}
		got, err := s.ClaimOutbox(ctx, t0.Add(time.Hour), 3, lease)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want[:3]) {
			t.Errorf("claimed %v, want %v", ids(got), want[:3])
		}
		rest, err := s.ClaimOutbox(ctx, t0.Add(time.Hour), 3, lease)
		if err != nil || fmt.Sprint(ids(rest)) != fmt.Sprint(want[3:]) {
			t.Errorf("second claim %v, %v; want %v", ids(rest), err, want[3:])
		}
	})
}

func TestMarkOutboxSent_ErasesTheSecret(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, t0, 10, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxSent(ctx, id, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		p := storedPayload(t, s, id)
		if strings.Contains(p, "493817") || strings.Contains(p, "secret") {
			t.Errorf("stored payload still holds the code: %s", p)
		}
		if !strings.Contains(p, `"template":"verify.code"`) || !strings.Contains(p, `"minutes":"10"`) {
			t.Errorf("erasing the secret lost the rest of the payload: %s", p)
		}
		it, err := s.LatestOutboxForUser(ctx, "u1", "", "verify.code")
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != store.OutboxSent || !it.SentAt.Equal(t0.Add(time.Second)) || it.LastError != "" {
			t.Errorf("after sent = %+v", it)
		}
		if again, err := s.ClaimOutbox(ctx, t0.Add(time.Hour), 10, lease); err != nil || len(again) != 0 {
			t.Errorf("a sent item was claimed again: %v, %v", ids(again), err)
		}
	})
}

func TestMarkOutboxFailed_ErasesTheSecretAndKeepsTheError(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxEmail, t0))
		if _, err := s.ClaimOutbox(ctx, t0, 10, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxFailed(ctx, id, t0.Add(time.Minute), "550 mailbox unavailable"); err != nil {
			t.Fatal(err)
		}
		if p := storedPayload(t, s, id); strings.Contains(p, "493817") {
			t.Errorf("stored payload still holds the code: %s", p)
		}
		it, err := s.LatestOutboxForUser(ctx, "u1", store.OutboxEmail, "verify.code")
		if err != nil {
			t.Fatal(err)
		}
		if it.Status != store.OutboxFailed || it.LastError != "550 mailbox unavailable" || !it.SentAt.IsZero() || it.Payload != nil {
			t.Errorf("after failed = %+v", it)
		}
	})
}

func TestMarkOutboxRetry_SchedulesTheNextAttempt(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, t0, 10, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxRetry(ctx, id, t0.Add(5*time.Second), "gateway answered 503"); err != nil {
			t.Fatal(err)
		}
		if early, err := s.ClaimOutbox(ctx, t0.Add(4*time.Second), 10, lease); err != nil || len(early) != 0 {
			t.Fatalf("claimed before its next attempt: %v, %v", ids(early), err)
		}
		got, err := s.ClaimOutbox(ctx, t0.Add(5*time.Second), 10, lease)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim at the next attempt = %v, %v", ids(got), err)
		}
		if got[0].Attempts != 2 || got[0].LastError != "gateway answered 503" || !strings.Contains(string(got[0].Payload), "493817") {
			t.Errorf("retried item = %+v", got[0])
		}
	})
}

func TestMarkOutbox_LeavesFinishedItemsAlone(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, t0, 10, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxSent(ctx, id, t0); err != nil {
			t.Fatal(err)
		}
		// A second worker whose lease ran out reports late; the item stays sent.
		if err := s.MarkOutboxRetry(ctx, id, t0.Add(time.Minute), "late"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxFailed(ctx, id, t0.Add(time.Minute), "late"); err != nil {
			t.Fatal(err)
		}
		it, err := s.LatestOutboxForUser(ctx, "u1", store.OutboxSMS, "verify.code")
		if err != nil || it.Status != store.OutboxSent || it.LastError != "" {
			t.Errorf("finished item changed: %+v, %v", it, err)
		}
	})
}

func TestReleaseOutbox_ReturnsTheItemUncounted(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, t0, 10, lease); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseOutbox(ctx, id); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimOutbox(ctx, t0, 10, lease)
		if err != nil || len(got) != 1 || got[0].Attempts != 1 {
			t.Errorf("claim after release = %+v, %v", got, err)
		}
	})
}

func TestLatestOutboxForUser_PicksNewestOfKindAndTopic(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		if _, err := s.LatestOutboxForUser(ctx, "u1", "", "verify.code"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no items: err = %v", err)
		}
		sms := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		email := enqueue(t, s, codeItem("u1", store.OutboxEmail, t0.Add(time.Second)))
		enqueue(t, s, codeItem("u2", store.OutboxSMS, t0.Add(2*time.Second)))
		other := codeItem("u1", store.OutboxEmail, t0.Add(3*time.Second))
		other.Topic = "retired.confirmation"
		enqueue(t, s, other)

		for _, c := range []struct {
			kind string
			want int64
		}{{store.OutboxSMS, sms}, {store.OutboxEmail, email}, {"", email}} {
			it, err := s.LatestOutboxForUser(ctx, "u1", c.kind, "verify.code")
			if err != nil || it.ID != c.want {
				t.Errorf("latest %q = %d, %v; want %d", c.kind, it.ID, err, c.want)
			}
			if it.Payload != nil {
				t.Errorf("latest %q returned the payload", c.kind)
			}
		}
	})
}

func TestRecentOutbox_NeverShowsSecrets(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		a := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		b := enqueue(t, s, codeItem("u2", store.OutboxEmail, t0))
		got, err := s.RecentOutbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{b, a}) {
			t.Fatalf("recent = %v, want newest first %v", ids(got), []int64{b, a})
		}
		for _, it := range got {
			if strings.Contains(string(it.Payload), "493817") || !strings.Contains(string(it.Payload), `"to":"+8613800000001"`) {
				t.Errorf("recent payload = %s", it.Payload)
			}
		}
		// The pending items still carry their code for the worker.
		if p := storedPayload(t, s, a); !strings.Contains(p, "493817") {
			t.Errorf("RecentOutbox erased the stored secret of a pending item: %s", p)
		}
	})
}

// Workers on several instances claim at the same moment: each item goes to exactly one of them.
func TestClaimOutbox_ConcurrentClaimersNeverShareAnItem(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		const items, workers = 60, 6
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for i := range items {
				if _, err := tx.EnqueueOutbox(ctx, codeItem(fmt.Sprint("u", i), store.OutboxSMS, t0)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		claimedBy := map[int64]int{}
		var dup []string
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					got, err := s.ClaimOutbox(ctx, t0, 4, lease)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, it := range got {
						if prev, ok := claimedBy[it.ID]; ok {
							dup = append(dup, fmt.Sprintf("item %d by workers %d and %d", it.ID, prev, w))
						}
						claimedBy[it.ID] = w
					}
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(dup) > 0 {
			t.Fatalf("items claimed twice: %v", dup)
		}
		if len(claimedBy) != items {
			t.Fatalf("claimed %d items, want %d", len(claimedBy), items)
		}
	})
}
