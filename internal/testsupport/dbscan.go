package testsupport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
)

// DiskScan looks for bytes in what a store has written to disk, live or not: on SQLite the
// database file and its write-ahead log; on PostgreSQL every page of the schema's tables, their
// indexes and TOAST tables (dead tuples included, through pageinspect) and the write-ahead log
// written since the scan started. It shows that a secret never reached the database, not even
// in a page or log record that a later write made obsolete.
type DiskScan struct {
	t        testing.TB
	s        *store.SQL
	walStart string // PostgreSQL: the WAL flush position when the scan started
}

// StartDiskScan prepares a scan of s: on PostgreSQL it notes where the write-ahead log stands,
// so Find reads only what was written afterwards.
func StartDiskScan(t testing.TB, s *store.SQL) *DiskScan {
	t.Helper()
	d := &DiskScan{t: t, s: s}
	if s.Dialect() == store.Postgres {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ensurePageinspect(ctx, s); err != nil {
			Unavailable(t, "PostgreSQL pageinspect (superuser needed): %v", err)
		}
		if err := s.DB().QueryRowContext(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&d.walStart); err != nil {
			Unavailable(t, "PostgreSQL WAL position: %v", err)
		}
	}
	return d
}

// Find reports where needle occurs: names such as "sqlite file", "sqlite wal",
// "postgres outbox page 0" or "postgres wal". Empty when it occurs nowhere.
func (d *DiskScan) Find(needle string) []string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var where []string
	var err error
	if d.s.Dialect() == store.Postgres {
		where, err = d.findPostgres(ctx, []byte(needle))
	} else {
		where, err = d.findSQLite(ctx, []byte(needle))
	}
	if err != nil {
		d.t.Fatalf("scan the database for %q: %v", needle, err)
	}
	return where
}

func (d *DiskScan) findSQLite(ctx context.Context, needle []byte) ([]string, error) {
	var seq int
	var name, file string
	if err := d.s.DB().QueryRowContext(ctx, `PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		return nil, err
	}
	var where []string
	for suffix, label := range map[string]string{"": "sqlite file", "-wal": "sqlite wal", "-journal": "sqlite journal"} {
		b, err := os.ReadFile(file + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, needle) {
			where = append(where, label)
		}
	}
	return where, nil
}

func (d *DiskScan) findPostgres(ctx context.Context, needle []byte) ([]string, error) {
	db := d.s.DB()
	// Every relation of the test's schema, and the TOAST tables and their indexes behind them.
	rows, err := db.QueryContext(ctx, `
		SELECT c.oid::regclass::text, pg_relation_size(c.oid) / current_setting('block_size')::bigint
		FROM pg_class c
		WHERE c.relkind IN ('r', 'i', 't')
		  AND (c.relnamespace = current_schema()::regnamespace
		       OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
		       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
		            (SELECT reltoastrelid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)))`)
	if err != nil {
		return nil, err
	}
	type rel struct {
		name   string
		blocks int64
	}
	var rels []rel
	for rows.Next() {
		var r rel
		if err := rows.Scan(&r.name, &r.blocks); err != nil {
			rows.Close()
			return nil, err
		}
		rels = append(rels, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var where []string
	for _, r := range rels {
		for blk := range r.blocks {
			var page []byte
			if err := db.QueryRowContext(ctx, `SELECT public.get_raw_page($1::text, $2::bigint)`, r.name, blk).Scan(&page); err != nil {
				return nil, fmt.Errorf("page %d of %s: %w", blk, r.name, err)
			}
			if bytes.Contains(page, needle) {
				where = append(where, fmt.Sprintf("postgres %s page %d", r.name, blk))
			}
		}
	}
	wal, err := d.walSince(ctx)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(wal, needle) {
		where = append(where, "postgres wal")
	}
	return where, nil
}

// walSince reads the write-ahead log from the scan's start to where it is flushed now, segment
// by segment.
func (d *DiskScan) walSince(ctx context.Context) ([]byte, error) {
	db := d.s.DB()
	var end string
	if err := db.QueryRowContext(ctx, `SELECT pg_current_wal_flush_lsn()::text`).Scan(&end); err != nil {
		return nil, err
	}
	var segment int64
	if err := db.QueryRowContext(ctx, `SELECT setting::bigint * CASE unit WHEN 'MB' THEN 1048576 WHEN 'kB' THEN 1024 ELSE 1 END
		FROM pg_settings WHERE name = 'wal_segment_size'`).Scan(&segment); err != nil {
		return nil, err
	}
	var out []byte
	cur := d.walStart
	for {
		var left int64
		if err := db.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint`, end, cur).Scan(&left); err != nil {
			return nil, err
		}
		if left <= 0 {
			return out, nil
		}
		var file string
		var offset int64
		if err := db.QueryRowContext(ctx, `SELECT file_name, file_offset FROM pg_walfile_name_offset($1::pg_lsn)`, cur).Scan(&file, &offset); err != nil {
			return nil, err
		}
		n := min(left, segment-offset)
		var chunk []byte
		if err := db.QueryRowContext(ctx, `SELECT pg_read_binary_file('pg_wal/' || $1, $2::bigint, $3::bigint)`, file, offset, n).Scan(&chunk); err != nil {
			return nil, fmt.Errorf("read WAL %s: %w", file, err)
		}
		out = append(out, chunk...)
		if err := db.QueryRowContext(ctx, `SELECT ($1::pg_lsn + $2::numeric)::text`, cur, n).Scan(&cur); err != nil {
			return nil, err
		}
	}
}

// ensurePageinspect installs the pageinspect extension into the public schema once per
// database; tests of several packages may race to do it.
func ensurePageinspect(ctx context.Context, s *store.SQL) error {
	var err error
	for range 5 {
		var ok bool
		if err = s.DB().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pageinspect')`).Scan(&ok); err == nil && ok {
			return nil
		}
		_, err = s.DB().ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public`)
		if err == nil || !strings.Contains(err.Error(), "duplicate key") {
			return err
		}
		time.Sleep(50 * time.Millisecond) // another test is creating it
	}
	return err
}
