package nudge_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/nudge"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

var t0 = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

func seed(t *testing.T, st *store.SQL) {
	t.Helper()
	if _, err := st.UpsertUsers(context.Background(), []campaign.RosterEntry{
		{ID: "u1", Phone: "+8613800000001", Deadline: campaign.Date{Year: 2026, Month: 12, Day: 31}},
	}, t0); err != nil {
		t.Fatal(err)
	}
}

// Of 60 racing "remind me later" on every deployment, exactly the limit are taken, each recorded
// once in the history.
func TestPostpone_TakesExactlyTheLimitUnderRaces(t *testing.T) {
	testsupport.EachDeployment(t, func(t *testing.T, stores []*store.SQL) {
		seed(t, stores[0])
		clk := clock.NewFake(t0)
		deadline := t0.Add(30 * 24 * time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		took, refused := map[int]int{}, 0
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				svc := nudge.New(stores[i%len(stores)], clk)
				n, err := svc.Postpone(context.Background(), "u1", nudge.SignIn, 3, deadline, map[string]string{"client": "shop"}, audit.Client{IP: "192.0.2.1"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					took[n]++
				case errors.Is(err, nudge.ErrNoMore):
					refused++
				default:
					t.Errorf("postpone: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if len(took) != 3 || took[1] != 1 || took[2] != 1 || took[3] != 1 || refused != 57 {
			t.Errorf("counts taken %v, refused %d; want 1, 2 and 3 once each and 57 refused", took, refused)
		}
		events, err := stores[0].Events(context.Background(), "u1", 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Type == audit.NudgeLater {
				n++
				if e.Detail["client"] != "shop" || e.Detail["max"] != "3" {
					t.Errorf("event detail %v", e.Detail)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d history entries for remind me later, want 3", n)
		}
		if left, _ := nudge.New(stores[0], clk).Left(context.Background(), "u1", nudge.SignIn, 3, deadline); left != 0 {
			t.Errorf("left = %d, want 0", left)
		}
	})
}

func TestPostpone_NeverFromTheDeadlineOn(t *testing.T) {
	st := testsupport.SQLite(t)
	seed(t, st)
	clk := clock.NewFake(t0)
	svc := nudge.New(st, clk)
	deadline := t0.Add(time.Hour)
	if left, _ := svc.Left(context.Background(), "u1", nudge.SignIn, 3, deadline); left != 3 {
		t.Errorf("left before the deadline = %d, want 3", left)
	}
	clk.Advance(time.Hour)
	if _, err := svc.Postpone(context.Background(), "u1", nudge.SignIn, 3, deadline, nil, audit.Client{}); !errors.Is(err, nudge.ErrNoMore) {
		t.Errorf("postpone at the deadline = %v, want ErrNoMore", err)
	}
	if left, _ := svc.Left(context.Background(), "u1", nudge.SignIn, 3, deadline); left != 0 {
		t.Errorf("left at the deadline = %d, want 0", left)
	}
}
