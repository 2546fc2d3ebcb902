package testsupport

import (
	"context"
	"testing"

	"github.com/smsretire/smsretire/internal/store"
)

// PostgresPair opens two store handles on one fresh, migrated schema of the test server, as two
// instances of a deployment would: each has its own connection pool, so only the database can
// make them agree. Both seal outbox codes with one key, as instances configured alike do.
func PostgresPair(t testing.TB) (a, b *store.SQL) {
	t.Helper()
	ctx := context.Background()
	db := PostgresDatabase(t)
	box := Sealbox(t)
	handles := make([]*store.SQL, 2)
	for i := range handles {
		s, err := store.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SealSecretsWith(box)
		handles[i] = s
	}
	if err := handles[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return handles[0], handles[1]
}

// EachDeployment runs fn as a subtest against one SQLite store, one PostgreSQL store and two
// handles on one PostgreSQL schema (two instances). fn gets the handles of the deployment, one or
// two, and spreads its requests over them.
func EachDeployment(t *testing.T, fn func(t *testing.T, stores []*store.SQL)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, []*store.SQL{SQLite(t)}) })
	t.Run("postgres", func(t *testing.T) { fn(t, []*store.SQL{Postgres(t)}) })
	t.Run("postgres-two-instances", func(t *testing.T) {
		a, b := PostgresPair(t)
		fn(t, []*store.SQL{a, b})
	})
}
