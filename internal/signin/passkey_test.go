package signin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/signin"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// One client starts at most PasskeyOptionsPerHour passkey sign-ins an hour, counted in the
// database; another client, or the next hour, starts afresh.
func TestStartPasskey_BoundsCeremoniesPerClient(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, st *store.SQL) {
		f := newFixture(t, []*store.SQL{st})
		svc := f.svcs[0]
		ctx := context.Background()
		c := audit.Client{IP: "198.51.100.7"}
		for i := 0; i < signin.PasskeyOptionsPerHour; i++ {
			if err := svc.StartPasskey(ctx, c); err != nil {
				t.Fatalf("ceremony %d: %v", i+1, err)
			}
		}
		if err := svc.StartPasskey(ctx, c); !errors.Is(err, signin.ErrTooManyCeremonies) {
			t.Fatalf("one more: %v, want ErrTooManyCeremonies", err)
		}
		if err := svc.StartPasskey(ctx, audit.Client{IP: "198.51.100.8"}); err != nil {
			t.Fatalf("another client: %v", err)
		}
		f.clk.Advance(time.Hour)
		if err := svc.StartPasskey(ctx, c); err != nil {
			t.Fatalf("the next hour: %v", err)
		}
	})
}
