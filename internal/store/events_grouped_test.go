package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// Events appended at once by many requests are all committed, each request told of its own; an
// event that cannot be written (an unknown user) fails its request only.
func TestAppendEventGrouped_EveryEventOfParallelRequestsCommitted(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		const users, each = 10, 6
		var entries []campaign.RosterEntry
		for i := range users {
			entries = append(entries, entry(fmt.Sprintf("g%d", i), fmt.Sprintf("+861380000%04d", i)))
		}
		if _, err := s.UpsertUsers(ctx, entries, t0); err != nil {
			t.Fatal(err)
		}
		var told sync.Map
		s.OnEvents(func(ev audit.Event) { told.Store(ev.UserID+ev.IP, true) })
		var wg sync.WaitGroup
		errs := make(chan error, users*each+1)
		for i := range users * each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.AppendEventGrouped(ctx, audit.NoticeOpened.Event(fmt.Sprintf("g%d", i%users), audit.Client{IP: fmt.Sprint(i)}, t0, nil))
			}()
		}
		wg.Add(1)
		var unknown error
		go func() {
			defer wg.Done()
			unknown = s.AppendEventGrouped(ctx, audit.NoticeOpened.Event("nobody", audit.Client{IP: "x"}, t0, nil))
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("append: %v", err)
			}
		}
		if unknown == nil {
			t.Error("an event of an unknown user was accepted")
		}
		for i := range users {
			evs, err := s.Events(ctx, fmt.Sprintf("g%d", i), 100)
			if err != nil {
				t.Fatal(err)
			}
			opened := 0
			for _, ev := range evs {
				if ev.Type == audit.NoticeOpened {
					opened++
					if _, ok := told.Load(ev.UserID + ev.IP); !ok {
						t.Errorf("OnEvents not told of %s from %s", ev.UserID, ev.IP)
					}
				}
			}
			if opened != each {
				t.Errorf("g%d has %d notice openings, want %d", i, opened, each)
			}
		}
	})
}
