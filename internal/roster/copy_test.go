package roster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// mixed has good rows, bad rows of every kind, a CSV syntax error and users named twice, one of
// them across the chunks of a small chunk size: the later rows for them are refused.
const mixed = `user_id,phone,email,name,locale,deadline,id_last4
u1,138 1234 5678,a@example.com,张伟,zh-Hans,2026-12-31,123x
u2,+86-139-0000-0000,,,en,2027-01-15,
u3,12345,,,,2026-12-31,
u4,13800000004,not-an-email,,,2026-12-31,
u5,13800000005,,"bad "quote",,2026-12-31,
u6,13800000006,,,fr,2026-12-31,
u7,13800000007,,,,31/12/2026,
,13800000008,,,,2026-12-31,
u9,13800000009,,,,2026-12-31,12
u2,13900000002,b@example.com,李娜,,2027-02-01,
u10,13800000010,,,,2026-12-31,9876
u1,13800000001,,张伟,en,2027-03-01,456Y
`

type loaded struct {
	sum      roster.Summary
	problems []roster.Problem
}

func importInto(t *testing.T, s *store.SQL, csv string, chunk int) loaded {
	t.Helper()
	var l loaded
	opt := roster.Options{Hasher: hasher, Now: time.Now(), BatchSize: chunk, OnProblem: func(p roster.Problem) { l.problems = append(l.problems, p) }}
	var err error
	if s.Dialect() == store.Postgres {
		l.sum, err = roster.ImportCopy(context.Background(), strings.NewReader(csv), s, opt)
	} else {
		l.sum, err = roster.Import(context.Background(), strings.NewReader(csv), s, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A user as the store holds it, for comparing two stores.
type stored struct {
	User   campaign.User
	Hash   []byte
	Events []audit.Type
}

func snapshot(t *testing.T, s *store.SQL, ids []string) map[string]stored {
	t.Helper()
	ctx := context.Background()
	out := map[string]stored{}
	for _, id := range ids {
		u, err := s.UserByID(ctx, id)
		if errors.Is(err, campaign.ErrUserNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		h, _ := s.IDLast4Hash(ctx, id)
		evs, err := s.Events(ctx, id, 100)
		if err != nil {
			t.Fatal(err)
		}
		var types []audit.Type
		for _, e := range evs {
			types = append(types, e.Type)
		}
		u.CreatedAt, u.UpdatedAt = time.Time{}, time.Time{}
		out[id] = stored{User: u, Hash: h, Events: types}
	}
	return out
}

// The PostgreSQL bulk path loads the same users, with the same history, and reports the same
// problems and counts as the batched path on SQLite; a second run changes nothing and leaves each
// user's state alone.
func TestImportCopy_MatchesImportOnSQLite(t *testing.T) {
	for _, chunk := range []int{0, 2} {
		t.Run(map[int]string{0: "one chunk", 2: "chunks of 2"}[chunk], func(t *testing.T) {
			lite, pg := testsupport.SQLite(t), testsupport.Postgres(t)
			want, got := importInto(t, lite, mixed, 0), importInto(t, pg, mixed, chunk)
			if counts(want.sum) != (roster.Summary{Rows: 12, Added: 3, Rejected: 9}) {
				t.Fatalf("SQLite summary = %+v", want.sum)
			}
			if got.sum != want.sum {
				t.Errorf("summary: PostgreSQL %+v, SQLite %+v", got.sum, want.sum)
			}
			if !slices.Equal(got.problems, want.problems) {
				t.Errorf("problems:\nPostgreSQL %v\nSQLite     %v", got.problems, want.problems)
			}
			var lines []int
			for _, p := range want.problems {
				lines = append(lines, p.Line)
			}
			if !slices.Equal(lines, []int{4, 5, 6, 7, 8, 9, 10, 11, 13}) {
				t.Errorf("problems on lines %v, want 4 to 11 and 13", lines)
			}
			ids := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u9", "u10"}
			a, b := snapshot(t, lite, ids), snapshot(t, pg, ids)
			if len(a) != 3 || a["u1"].User.Phone != "+8613812345678" || a["u1"].User.Locale != "zh-Hans" || a["u2"].User.Name != "" {
				t.Fatalf("SQLite holds %+v", a)
			}
			for _, id := range ids {
				if x, y := a[id], b[id]; x.User != y.User || !bytes.Equal(x.Hash, y.Hash) || !slices.Equal(x.Events, y.Events) {
					t.Errorf("%s:\nPostgreSQL %+v\nSQLite     %+v", id, y, x)
				}
			}
			if !hasher.Match("u1", "123X", b["u1"].Hash) || b["u2"].Hash != nil {
				t.Errorf("ID hashes: u1 %x, u2 %x", b["u1"].Hash, b["u2"].Hash)
			}

			// Retire u1 on both, then load the file again.
			retired := time.Now()
			for _, s := range []*store.SQL{lite, pg} {
				err := s.InTx(context.Background(), func(tx *store.Tx) error {
					return tx.SetState(context.Background(), "u1", campaign.StateRetired, audit.Event{Actor: "test", CreatedAt: retired})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			want, got = importInto(t, lite, mixed, 0), importInto(t, pg, mixed, chunk)
			if counts(want.sum) != (roster.Summary{Rows: 12, Unchanged: 3, Rejected: 9}) || got.sum != want.sum {
				t.Errorf("second run: PostgreSQL %+v, SQLite %+v", got.sum, want.sum)
			}
			a, b = snapshot(t, lite, ids), snapshot(t, pg, ids)
			if b["u1"].User.State != campaign.StateRetired {
				t.Errorf("a second import changed u1's state to %s", b["u1"].User.State)
			}
			for _, id := range ids {
				if x, y := a[id], b[id]; x.User != y.User || !slices.Equal(x.Events, y.Events) {
					t.Errorf("after the second run, %s:\nPostgreSQL %+v\nSQLite     %+v", id, y, x)
				}
			}
		})
	}
}

// counts is a summary without its format, to compare counts alone.
func counts(s roster.Summary) roster.Summary {
	s.Format = roster.Format{}
	return s
}

// Many chunks load every row once, and each chunk is committed as it goes.
func TestImportCopy_LoadsEveryChunk(t *testing.T) {
	pg := testsupport.Postgres(t)
	sum, err := roster.ImportCopy(context.Background(), bytes.NewReader(rosterCSV(2_345)), pg, roster.Options{Hasher: hasher, BatchSize: 500})
	if err != nil || counts(sum) != (roster.Summary{Rows: 2_345, Added: 2_345}) {
		t.Fatalf("sum = %+v, %v", sum, err)
	}
	if n, _ := pg.CountUsers(context.Background()); n != 2_345 {
		t.Errorf("users = %d", n)
	}
	u, err := pg.UserByID(context.Background(), "user0002344")
	if err != nil || u.Phone != "+8613900002344" || u.Email != "user2344@example.com" || !u.HasIDLast4 {
		t.Errorf("last user = %+v, %v", u, err)
	}
}

// A file that breaks off is a store error for the chunk in hand; the chunks before it stay. (It
// breaks off after the first MiB, which decides the encoding of a file that cannot be read twice.)
func TestImportCopy_ReadErrorKeepsEarlierChunks(t *testing.T) {
	pg := testsupport.Postgres(t)
	r := &failingReader{data: rosterCSV(20_000), failAt: 1_200_000}
	sum, err := roster.ImportCopy(context.Background(), r, pg, roster.Options{Hasher: hasher, BatchSize: 300})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	n, _ := pg.CountUsers(context.Background())
	if n == 0 || n%300 != 0 || sum.Added != n {
		t.Errorf("after the failure: %d users, summary %+v; want whole chunks of 300", n, sum)
	}
}

type failingReader struct {
	data   []byte
	off    int
	failAt int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.off >= f.failAt {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, f.data[f.off:min(f.failAt, len(f.data))])
	f.off += n
	return n, nil
}

func TestImportCopy_RefusesSQLite(t *testing.T) {
	_, err := roster.ImportCopy(context.Background(), strings.NewReader(sample), testsupport.SQLite(t), roster.Options{})
	if !errors.Is(err, store.ErrNoCopy) {
		t.Fatalf("err = %v", err)
	}
}

// Rows are checked in parallel runs, yet problems come in file order and a later row for a user
// is refused in favour of an earlier one many runs before it, exactly as on the SQLite path.
func TestImportCopy_ParallelCheckingKeepsFileOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString("user_id,phone,email,name,locale,deadline,id_last4\n")
	for i := range 3_000 {
		id, ph := fmt.Sprintf("p%05d", i%2_000), fmt.Sprintf("139%08d", i)
		switch {
		case i%7 == 3:
			ph = "12345" // bad phone
		case i%11 == 5:
			ph += ",x,y,z,w,v,u,t" // extra columns are ignored, not rejected
		case i%13 == 6:
			fmt.Fprintf(&b, "%s,%s,a\"b,,,2027-01-15,\n", id, ph) // a CSV syntax error: a bare quote
			continue
		}
		fmt.Fprintf(&b, "%s,%s,,,,2027-01-15,\n", id, ph)
	}
	csv := b.String()
	lite, pg := testsupport.SQLite(t), testsupport.Postgres(t)
	want, got := importInto(t, lite, csv, 0), importInto(t, pg, csv, 700)
	if got.sum != want.sum || want.sum.Rejected < 1_000 || want.sum.Added >= 2_000 {
		t.Fatalf("summary: PostgreSQL %+v, SQLite %+v", got.sum, want.sum)
	}
	if !slices.Equal(got.problems, want.problems) {
		t.Fatalf("problems differ: PostgreSQL %d, SQLite %d", len(got.problems), len(want.problems))
	}
	if !slices.IsSortedFunc(got.problems, func(a, b roster.Problem) int { return a.Line - b.Line }) {
		t.Error("problems out of file order")
	}
	ids := make([]string, 0, 2_000)
	for i := range 2_000 {
		ids = append(ids, fmt.Sprintf("p%05d", i))
	}
	a, c := snapshot(t, lite, ids), snapshot(t, pg, ids)
	if len(a) != len(c) || len(a) < 1_500 {
		t.Fatalf("users: SQLite %d, PostgreSQL %d", len(a), len(c))
	}
	for _, id := range ids {
		if a[id].User != c[id].User {
			t.Fatalf("%s: PostgreSQL %+v, SQLite %+v", id, c[id].User, a[id].User)
		}
	}
}
