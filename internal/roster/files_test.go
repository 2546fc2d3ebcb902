package roster_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// importFile loads a file from testdata into s as `smsretire import` does: through Import on
// SQLite, through ImportCopy (COPY) on PostgreSQL. With stream, the file is read as a stream that
// cannot seek, so only its head decides the encoding.
func importFile(t *testing.T, s *store.SQL, name string, stream bool) (loaded, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if stream {
		r = io.MultiReader(f)
	}
	var l loaded
	var notes []string
	opt := roster.Options{Hasher: hasher, Now: time.Now(), OnProblem: func(p roster.Problem) { l.problems = append(l.problems, p) },
		OnFormat: func(f roster.Format) { notes = f.Notes() }}
	if s.Dialect() == store.Postgres {
		l.sum, err = roster.ImportCopy(context.Background(), r, s, opt)
	} else {
		l.sum, err = roster.Import(context.Background(), r, s, opt)
	}
	if err == nil && !slices.Equal(notes, l.sum.Format.Notes()) {
		t.Errorf("told the format %v, summary says %v", notes, l.sum.Format.Notes())
	}
	return l, err
}

// eachWay runs fn for each store and for a file read whole and as a stream.
func eachWay(t *testing.T, fn func(t *testing.T, s *store.SQL, stream bool)) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		for _, stream := range []bool{false, true} {
			t.Run(map[bool]string{false: "file", true: "stream"}[stream], func(t *testing.T) {
				if stream { // a fresh store for the second way
					if s.Dialect() == store.Postgres {
						s = testsupport.Postgres(t)
					} else {
						s = testsupport.SQLite(t)
					}
				}
				fn(t, s, stream)
			})
		}
	})
}

func wantUser(t *testing.T, s *store.SQL, id string, check func(u campaign.User) bool) {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil || !check(u) {
		t.Errorf("%s = %+v, %v", id, u, err)
	}
}

// A CSV file that Excel on Chinese Windows saved (GBK, CRLF) is read as GB18030: every Chinese
// name loads as written, and the operator is told how the file was read.
func TestImport_GBKFileFromExcelIsReadAsGB18030(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "excel_gbk.csv", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 5, Added: 5}) || len(l.problems) != 0 {
			t.Fatalf("summary %+v, problems %v, %v", l.sum, l.problems, err)
		}
		if l.sum.Format != (roster.Format{Encoding: roster.GB18030, Separator: ','}) || !strings.Contains(strings.Join(l.sum.Format.Notes(), " "), "GB18030 (GBK)") {
			t.Errorf("format %+v, notes %q", l.sum.Format, l.sum.Format.Notes())
		}
		for id, name := range map[string]string{"gb1": "张伟", "gb2": "李娜", "gb3": "王芳（财务部）", "gb4": "刘洋, 陈静", "gb5": "Alex Chen"} {
			wantUser(t, s, id, func(u campaign.User) bool { return u.Name == name })
		}
		h, _ := s.IDLast4Hash(context.Background(), "gb1")
		if !hasher.Match("gb1", "123X", h) {
			t.Error("gb1's ID digits were not stored")
		}
	})
}

// A UTF-8 file with a byte order mark (Excel's "CSV UTF-8") loads; the mark is no part of the
// first column's name.
func TestImport_UTF8WithByteOrderMark(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "excel_utf8_bom.csv", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 5, Added: 5}) || l.sum.Format != (roster.Format{Encoding: roster.UTF8, BOM: true, Separator: ','}) {
			t.Fatalf("summary %+v, problems %v, %v", l.sum, l.problems, err)
		}
		if notes := l.sum.Format.Notes(); len(notes) != 0 {
			t.Errorf("notes for a plain UTF-8 file: %q", notes)
		}
		wantUser(t, s, "gb4", func(u campaign.User) bool { return u.Name == "刘洋, 陈静" })
	})
}

// A quote left open spoils its own line only: the line is reported and refused, and every row
// after it loads — six data rows, six read.
func TestImport_UnterminatedQuoteSpoilsOnlyItsLine(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "unterminated_quote.csv", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 6, Added: 5, Rejected: 1}) {
			t.Fatalf("summary %+v, %v", l.sum, err)
		}
		if len(l.problems) != 1 || l.problems[0].Line != 3 || !strings.Contains(l.problems[0].Reason, "quote") ||
			!strings.Contains(l.problems[0].Reason, "next line") {
			t.Errorf("problems %v", l.problems)
		}
		for _, id := range []string{"q1", "q3", "q4", "q5", "q6"} {
			wantUser(t, s, id, func(campaign.User) bool { return true })
		}
	})
}

// A user ID named again is refused on each later line, naming the line that loads; the first row
// for each user loads.
func TestImport_RepeatedUserIDRefusesTheLaterRows(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "duplicate_ids.csv", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 7, Added: 4, Rejected: 3}) {
			t.Fatalf("summary %+v, %v", l.sum, err)
		}
		want := []struct{ line, first int }{{5, 2}, {7, 3}, {8, 2}}
		if len(l.problems) != len(want) {
			t.Fatalf("problems %v", l.problems)
		}
		for i, w := range want {
			p := l.problems[i]
			if p.Line != w.line || !strings.Contains(p.Reason, "on line "+strconv.Itoa(w.first)+" already") {
				t.Errorf("problem %d = %v, want line %d naming line %d", i, p, w.line, w.first)
			}
		}
		wantUser(t, s, "d1", func(u campaign.User) bool { return u.Name == "First One" && u.Phone == "+8613800139201" })
		wantUser(t, s, "d2", func(u campaign.User) bool { return u.Name == "Second" })
	})
}

// A semicolon-separated file (Excel where the decimal mark is a comma) is read with semicolons,
// and the operator is told so.
func TestImport_SemicolonSeparatedFile(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "excel_semicolon.csv", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 3, Added: 3}) || l.sum.Format.Separator != ';' {
			t.Fatalf("summary %+v, problems %v, %v", l.sum, l.problems, err)
		}
		if notes := strings.Join(l.sum.Format.Notes(), " "); !strings.Contains(notes, "semicolon") {
			t.Errorf("notes %q", notes)
		}
		wantUser(t, s, "s2", func(u campaign.User) bool { return u.Name == "Li; Na" && u.Locale == "en" })
		wantUser(t, s, "s1", func(u campaign.User) bool { return u.Email == "s1@example.com" && u.HasIDLast4 })
	})
}

// Excel's "Unicode Text" (UTF-16 with a byte order mark, tab-separated) loads too.
func TestImport_UnicodeTextFromExcel(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		l, err := importFile(t, s, "excel_unicode_text.txt", stream)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 2, Added: 2}) || l.sum.Format != (roster.Format{Encoding: roster.UTF16, BOM: true, Separator: '\t'}) {
			t.Fatalf("summary %+v, problems %v, %v", l.sum, l.problems, err)
		}
		wantUser(t, s, "t1", func(u campaign.User) bool { return u.Name == "张伟" })
	})
}

// A file that is neither UTF-8 nor GB18030 is refused before any row loads, naming the line and
// how to save the file.
func TestImport_FileInNoKnownEncodingIsRefusedBeforeAnyRow(t *testing.T) {
	eachWay(t, func(t *testing.T, s *store.SQL, stream bool) {
		_, err := importFile(t, s, "not_text.csv", stream)
		var enc roster.ErrEncoding
		if !errors.As(err, &enc) || enc.Line != 2 || !strings.Contains(err.Error(), "CSV UTF-8") {
			t.Fatalf("err = %v", err)
		}
		if n, _ := s.CountUsers(context.Background()); n != 0 {
			t.Errorf("%d users loaded", n)
		}
	})
}

// Loading the same file again changes nothing — no history, no updated_at — and a changed row
// changes its user alone.
func TestImport_SameFileAgainChangesNothing(t *testing.T) {
	testsupport.EachStore(t, func(t *testing.T, s *store.SQL) {
		ctx := context.Background()
		if _, err := importFile(t, s, "excel_gbk.csv", false); err != nil {
			t.Fatal(err)
		}
		ids := []string{"gb1", "gb2", "gb3", "gb4", "gb5"}
		before := map[string]campaign.User{}
		events := map[string]int{}
		for _, id := range ids {
			before[id], _ = s.UserByID(ctx, id)
			evs, _ := s.Events(ctx, id, 100)
			events[id] = len(evs)
		}
		time.Sleep(5 * time.Millisecond) // a later import time, had anything been stamped
		l, err := importFile(t, s, "excel_gbk.csv", false)
		if err != nil || counts(l.sum) != (roster.Summary{Rows: 5, Unchanged: 5}) {
			t.Fatalf("again: %+v, %v", l.sum, err)
		}
		for _, id := range ids {
			u, _ := s.UserByID(ctx, id)
			evs, _ := s.Events(ctx, id, 100)
			if u != before[id] || len(evs) != events[id] {
				t.Errorf("%s changed: %+v → %+v, %d → %d events", id, before[id], u, events[id], len(evs))
			}
		}

		changed := "user_id,phone,email,name,locale,deadline,id_last4\ngb1,138 0013 9001,zhang.wei@example.com,张伟,zh-Hans,2026-12-31,123X\n" +
			"gb2,138 0013 9002,,李娜,en,2026-12-31,\n"
		l = importInto(t, s, changed, 0)
		if counts(l.sum) != (roster.Summary{Rows: 2, Updated: 1, Unchanged: 1}) {
			t.Fatalf("one changed row: %+v", l.sum)
		}
		evs, _ := s.Events(ctx, "gb2", 100)
		if u, _ := s.UserByID(ctx, "gb2"); u.Locale != "en" || !u.UpdatedAt.After(before["gb2"].UpdatedAt) || len(evs) != events["gb2"]+1 || evs[0].Type != audit.RosterUpdated {
			t.Errorf("gb2 = %+v with %d events", u, len(evs))
		}
		if u, _ := s.UserByID(ctx, "gb1"); u != before["gb1"] {
			t.Errorf("gb1 changed: %+v", u)
		}
	})
}
