package store_test

import (
	"context"
	"testing"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// RefuseWrites makes the heartbeat table refuse every write, as a full disk refuses them, while
// the database still answers queries.
func refuseWrites(t *testing.T, s *store.SQL) {
	t.Helper()
	stmts := []string{
		`CREATE TRIGGER refuse_insert BEFORE INSERT ON heartbeat BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
		`CREATE TRIGGER refuse_update BEFORE UPDATE ON heartbeat BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
	}
	if s.Dialect() == store.Postgres {
		stmts = []string{
			`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
			`CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON heartbeat FOR EACH ROW EXECUTE FUNCTION refuse()`,
		}
	}
	for _, q := range stmts {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProbeWrite_FailsWhenTheDatabaseRefusesWrites(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		for range 2 { // the insert, then the update of the same row
			if err := s.ProbeWrite(ctx, "readyz", t0); err != nil {
				t.Fatalf("probe on a healthy database: %v", err)
			}
		}
		refuseWrites(t, s)
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if err := s.ProbeWrite(ctx, "readyz", t0); err == nil {
			t.Fatal("probe succeeded while writes are refused")
		}
	})
}
