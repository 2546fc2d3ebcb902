// Package store keeps smsretire's data in SQLite or PostgreSQL through one SQL implementation;
// the dialect differences live in the migrations and in a few marked queries.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/sealbox"
)

//go:embed migrations
var migrations embed.FS

// Dialect tells the two databases apart where their SQL differs.
type Dialect int

// The supported databases.
const (
	SQLite Dialect = iota
	Postgres
)

// SQL is the store over a database/sql handle.
type SQL struct {
	db      *sql.DB
	dialect Dialect
	url     string       // PostgreSQL: the connection URL, for the LISTEN connection
	box     *sealbox.Box // seals one-time codes in outbox payloads; see SealSecretsWith
	wake    outboxWake   // who hears of committed outbox items in this process
	events  func(audit.Event)
	grouped eventGroup // AppendEventGrouped's
}

// OnEvents has fn told of every history event written through AppendEvent once it is committed
// (those of a rolled-back transaction never): how the metrics count verifications, enrolments
// and reminders from the catalogue of events. Set it once, before the store is used.
func (s *SQL) OnEvents(fn func(audit.Event)) { s.events = fn }

// Open connects to the database named by db. It does not migrate; call Migrate.
func Open(ctx context.Context, db config.Database) (*SQL, error) {
	switch db.Driver {
	case "sqlite":
		if dir := filepath.Dir(db.Path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open sqlite: %w", err)
			}
		}
		dsn := "file:" + db.Path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		connector, err := newSQLiteConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		h := sql.OpenDB(connector)
		h.SetMaxOpenConns(4)
		s := &SQL{db: h, dialect: SQLite}
		if err := h.PingContext(ctx); err != nil {
			h.Close()
			return nil, fmt.Errorf("open sqlite %s: %w", db.Path, err)
		}
		return s, nil
	case "postgres":
		h, err := sql.Open("pgx", db.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		h.SetMaxOpenConns(20)
		h.SetMaxIdleConns(10)
		h.SetConnMaxIdleTime(5 * time.Minute)
		if err := h.PingContext(ctx); err != nil {
			h.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return &SQL{db: h, dialect: Postgres, url: db.URL}, nil
	}
	return nil, fmt.Errorf("open store: unknown driver %q", db.Driver)
}

// Dialect reports which database the store uses.
func (s *SQL) Dialect() Dialect { return s.dialect }

// DB returns the underlying handle, for tests and bulk operations.
func (s *SQL) DB() *sql.DB { return s.db }

// Close releases the database.
func (s *SQL) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *SQL) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies every pending migration. On PostgreSQL it holds an advisory lock, so that
// instances starting together apply them once.
func (s *SQL) Migrate(ctx context.Context) error {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
		// The advisory lock is per database; key it by schema too, so that migrations of
		// different schemas in one database (tests, or several deployments) do not wait on
		// each other while instances of one deployment still take turns.
		var schema string
		if err := s.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID(schema)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// q rewrites a query written with ? placeholders for the store's dialect.
func (s *SQL) q(query string) string {
	if s.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// querier is what a *sql.DB and a *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a transaction handed to a function passed to InTx; its methods write through it.
type Tx struct {
	s  *SQL
	tx *sql.Tx
	// enqueued marks the outbox kinds this transaction wrote, whose workers are woken once it
	// commits.
	enqueued kindSet
	// events are the history events written, told to OnEvents once it commits.
	events []audit.Event
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
func (s *SQL) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	conn, err := s.db.Conn(ctx) // kept after the commit for notifyInstances
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &Tx{s: s, tx: tx}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if t.enqueued != 0 {
		s.wake.notify(t.enqueued)
		s.notifyInstances(ctx, conn, t.enqueued)
	}
	conn.Close() // back to the pool before the callbacks below; the deferred Close does nothing
	if s.events != nil {
		for _, ev := range t.events {
			s.events(ev)
		}
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// ErrNotFound reports a row that does not exist.
var ErrNotFound = errors.New("not found")

// ErrExpired reports a single-use secret whose time ran out before it was used.
var ErrExpired = errors.New("expired")

// ErrSpent reports a single-use secret that was right but is used up already.
var ErrSpent = errors.New("already used")

// migrationLockID is the advisory lock ID of the migrations of one schema: goose's default ID
// for the default schema, else that ID mixed with the schema name's CRC-64.
func migrationLockID(schema string) int64 {
	if schema == "public" || schema == "" {
		return lock.DefaultLockID
	}
	return lock.DefaultLockID ^ int64(crc64.Checksum([]byte(schema), crc64.MakeTable(crc64.ECMA))&math.MaxInt64)
}
