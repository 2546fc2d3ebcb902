package testsupport

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/sealbox"
	"github.com/smsretire/smsretire/internal/store"
)

// PostgresURL is the server the tests use: SMSRETIRE_TEST_POSTGRES_URL or the local one.
func PostgresURL() string {
	if u := os.Getenv("SMSRETIRE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// SQLite opens a migrated store in a fresh file. Its outbox seals codes with a random key (see
// Sealbox); a test that shares the database with another handle gives both the same box.
func SQLite(t testing.TB) *store.SQL {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, config.Database{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.SealSecretsWith(Sealbox(t))
	return s
}

// Sealbox returns a box with one fresh random key, as SMSRETIRE_ENCRYPTION_KEYS would configure.
func Sealbox(t testing.TB) *sealbox.Box {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := sealbox.New([]keyring.EncKey{{ID: "test", Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// PostgresDatabase creates a fresh schema on the test server and returns a URL whose connections
// use it; the schema is dropped when the test ends.
func PostgresDatabase(t testing.TB) config.Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		Unavailable(t, "PostgreSQL: %v", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		Unavailable(t, "PostgreSQL at %s: %v", redacted(PostgresURL()), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, _ := url.Parse(PostgresURL())
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return config.Database{Driver: "postgres", URL: u.String()}
}

// Postgres opens a migrated store in a fresh schema of the test server.
func Postgres(t testing.TB) *store.SQL {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, PostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.SealSecretsWith(Sealbox(t))
	return s
}

// EachStore runs fn as a subtest against SQLite and against PostgreSQL: one contract, two stores.
func EachStore(t *testing.T, fn func(t *testing.T, s *store.SQL)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
