package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/smsretire/smsretire/internal/testsupport"
)

// The SQLite connections keep their statements: a query run again while its rows are still open
// on the same connection gets a statement of its own, and more distinct queries than are kept
// all run.
func TestSQLiteStatements_NestedAndManyQueriesRun(t *testing.T) {
	ctx := context.Background()
	db := testsupport.SQLite(t).DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT value FROM json_each(?)`
	outer, err := tx.QueryContext(ctx, q, `[1,2,3]`)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, fmt.Sprintf("[%d,%d]", 10*a, 100*a))
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var b int
			if err := inner.Scan(&b); err != nil {
				t.Fatal(err)
			}
			sum += b
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if sum != 660 {
		t.Errorf("nested queries summed %d, want 660", sum)
	}
	for i := range 600 {
		var got int
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query %d: %d, %v", i, got, err)
		}
	}
	for range 3 { // kept statements run again with new arguments
		var got int
		if err := db.QueryRowContext(ctx, `SELECT 7 + ?`, 2).Scan(&got); err != nil || got != 9 {
			t.Fatalf("again: %d, %v", got, err)
		}
	}
}
