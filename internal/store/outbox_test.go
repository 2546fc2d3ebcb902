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

// claim leases due items of any kind to the worker "w1".
func claim(t *testing.T, s *store.SQL, now time.Time, limit int) []store.OutboxItem {
	t.Helper()
	got, err := s.ClaimOutbox(context.Background(), store.OutboxClaim{Now: now, Limit: limit, Lease: lease, Owner: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	return got
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

		got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != first || got[0].Attempts != 1 || got[0].Status != store.OutboxPending {
			t.Fatalf("claim at t0 = %+v, want only item %d on its first attempt", got, first)
		}
		if got[0].Secret != "493817" || got[0].SecretErr != nil || got[0].Kind != store.OutboxSMS || got[0].UserID != "u1" || got[0].LeasedBy != "w1" {
			t.Errorf("claimed item lacks what delivery needs: %+v", got[0])
		}
		if again, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(30 * time.Second), Limit: 10, Lease: lease, Owner: "w1"}); err != nil || len(again) != 0 {
			t.Fatalf("claim while leased = %v, %v; want nothing", ids(again), err)
		}
		// The worker holding the first item died: its lease ends and the item comes back.
		after, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(lease), Limit: 10, Lease: lease, Owner: "w1"})
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
		got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(time.Hour), Limit: 3, Lease: lease, Owner: "w1"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(want[:3]) {
			t.Errorf("claimed %v, want %v", ids(got), want[:3])
		}
		rest, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(time.Hour), Limit: 3, Lease: lease, Owner: "w1"})
		if err != nil || fmt.Sprint(ids(rest)) != fmt.Sprint(want[3:]) {
			t.Errorf("second claim %v, %v; want %v", ids(rest), err, want[3:])
		}
	})
}

func TestMarkOutboxSent_ErasesTheSecret(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxSent(ctx, t0.Add(time.Second), id); err != nil {
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
		if again, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(time.Hour), Limit: 10, Lease: lease, Owner: "w1"}); err != nil || len(again) != 0 {
			t.Errorf("a sent item was claimed again: %v, %v", ids(again), err)
		}
	})
}

func TestMarkOutboxFailed_ErasesTheSecretAndKeepsTheError(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxEmail, t0))
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxFailed(ctx, id, "w1", t0.Add(time.Minute), "550 mailbox unavailable"); err != nil {
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
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxRetry(ctx, id, "w1", t0.Add(5*time.Second), "gateway answered 503"); err != nil {
			t.Fatal(err)
		}
		if early, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(4 * time.Second), Limit: 10, Lease: lease, Owner: "w1"}); err != nil || len(early) != 0 {
			t.Fatalf("claimed before its next attempt: %v, %v", ids(early), err)
		}
		got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0.Add(5 * time.Second), Limit: 10, Lease: lease, Owner: "w1"})
		if err != nil || len(got) != 1 {
			t.Fatalf("claim at the next attempt = %v, %v", ids(got), err)
		}
		if got[0].Attempts != 2 || got[0].LastError != "gateway answered 503" || got[0].Secret != "493817" {
			t.Errorf("retried item = %+v", got[0])
		}
	})
}

func TestMarkOutbox_LeavesFinishedItemsAlone(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxSent(ctx, t0, id); err != nil {
			t.Fatal(err)
		}
		// A second worker whose lease ran out reports late; the item stays sent.
		if err := s.MarkOutboxRetry(ctx, id, "w1", t0.Add(time.Minute), "late"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkOutboxFailed(ctx, id, "w1", t0.Add(time.Minute), "late"); err != nil {
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
		if _, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseOutbox(ctx, id, "w1"); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 10, Lease: lease, Owner: "w1"})
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
		// The pending items still carry their code, sealed, for the worker.
		if got := claim(t, s, t0, 10); len(got) != 2 || got[0].Secret != "493817" || got[1].Secret != "493817" {
			t.Errorf("claimed after RecentOutbox: %+v", got)
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
					got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Limit: 4, Lease: lease, Owner: "w1"})
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

func TestClaimOutbox_TakesOnlyTheKindAsked(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		sms := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		email := enqueue(t, s, codeItem("u1", store.OutboxEmail, t0))
		got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Kind: store.OutboxEmail, Limit: 10, Lease: lease, Owner: "w1"})
		if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint([]int64{email}) {
			t.Fatalf("email claim = %v, %v; want %d", ids(got), err, email)
		}
		got, err = s.ClaimOutbox(ctx, store.OutboxClaim{Now: t0, Kind: store.OutboxSMS, Limit: 10, Lease: lease, Owner: "w1"})
		if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint([]int64{sms}) {
			t.Fatalf("sms claim = %v, %v; want %d", ids(got), err, sms)
		}
	})
}

// A heartbeat keeps a delivery's item from other workers beyond the first lease; only the
// holder can extend it, and once the heartbeats stop the item comes free a lease later.
func TestExtendOutboxLeases_KeepsTheItemWhileTheHolderLives(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		id := enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		claim(t, s, t0, 10) // by w1, until t0+lease
		other := func(at time.Time) []store.OutboxItem {
			t.Helper()
			got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: at, Limit: 10, Lease: lease, Owner: "w2"})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if n, err := s.ExtendOutboxLeases(ctx, "w2", []int64{id}, t0.Add(10*lease)); err != nil || n != 0 {
			t.Fatalf("another worker extended the lease: %d, %v", n, err)
		}
		beat := t0.Add(lease / 2)
		if n, err := s.ExtendOutboxLeases(ctx, "w1", []int64{id}, beat.Add(lease)); err != nil || n != 1 {
			t.Fatalf("heartbeat extended %d, %v", n, err)
		}
		if got := other(t0.Add(lease)); len(got) != 0 {
			t.Fatalf("taken over despite the heartbeat: %v", ids(got))
		}
		// The heartbeats stop (the worker died): a lease after the last one, w2 takes over.
		got := other(beat.Add(lease))
		if len(got) != 1 || got[0].ID != id || got[0].LeasedBy != "w2" || got[0].Attempts != 2 {
			t.Fatalf("after the last lease: %+v", got)
		}
		// The dead worker's late word changes nothing of w2's claim.
		if n, err := s.ExtendOutboxLeases(ctx, "w1", []int64{id}, beat.Add(10*lease)); err != nil || n != 0 {
			t.Errorf("the old holder extended a lease it lost: %d, %v", n, err)
		}
		if err := s.MarkOutboxRetry(ctx, id, "w1", t0, "late"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseOutbox(ctx, id, "w1"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ClaimOutbox(ctx, store.OutboxClaim{Now: beat.Add(lease), Limit: 10, Lease: lease, Owner: "w3"}); err != nil || len(got) != 0 {
			t.Errorf("the old holder's retry or release freed w2's item for w3: %v, %v", ids(got), err)
		}
	})
}

// Workers hear of an item when its transaction commits, never when it rolls back.
func TestWatchOutbox_HearsCommitsOnly(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		var mu sync.Mutex
		var heard []string
		stop := s.WatchOutbox(func(kind string) {
			mu.Lock()
			heard = append(heard, kind)
			mu.Unlock()
		})
		errRollback := errors.New("roll back")
		err := s.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.EnqueueOutbox(ctx, codeItem("u1", store.OutboxSMS, t0)); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx *store.Tx) error {
			for _, kind := range []string{store.OutboxEmail, store.OutboxEmail, store.OutboxEvent} {
				if _, err := tx.EnqueueOutbox(ctx, codeItem("u1", kind, t0)); err != nil {
					return err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(heard) != 0 {
				t.Errorf("heard %v before the commit", heard)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		stop()
		enqueue(t, s, codeItem("u1", store.OutboxSMS, t0))
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(heard) != "[email event]" {
			t.Errorf("heard %v, want [email event] once each", heard)
		}
	})
}

// On PostgreSQL an instance hears, through LISTEN/NOTIFY, of items another instance commits.
func TestListenOutbox_WakesAnotherInstance(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := testsupport.PostgresPair(t)
	heard := make(chan string, 16)
	go b.ListenOutbox(ctx, func(kind string) { heard <- kind }, func(err error) { t.Logf("listen: %v", err) })
	wait := func(want string) {
		t.Helper()
		select {
		case got := <-heard:
			if got != want {
				t.Fatalf("heard %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("did not hear %q", want)
		}
	}
	for _, kind := range store.OutboxKinds {
		wait(kind) // listening now: whatever came before is to be looked at
	}
	err := a.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueOutbox(ctx, store.OutboxItem{Kind: store.OutboxEvent, Topic: "user.migrated", CreatedAt: t0, Payload: []byte(`{}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(store.OutboxEvent)
	// A rolled-back item sends no notification.
	a.InTx(ctx, func(tx *store.Tx) error {
		tx.EnqueueOutbox(ctx, codeItem("u1", store.OutboxSMS, t0))
		return errors.New("roll back")
	})
	enqueue(t, a, codeItem("u1", store.OutboxEmail, t0))
	wait(store.OutboxEmail)
}
