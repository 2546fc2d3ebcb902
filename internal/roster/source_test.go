package roster

import (
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzSplitLine: a line without line breaks splits as encoding/csv reads it as one record — the
// same fields, and a problem exactly where encoding/csv finds an error.
func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{`a,b,c`, `"a,b",c`, `"a""b",c`, `a"b,c`, `"a"b,c`, `"open,c`, `a,,`, `"",""`, `张伟,"刘洋, 陈静"`, `a;b`, "a\tb"} {
		f.Add(s, byte(','))
	}
	f.Fuzz(func(t *testing.T, line string, which byte) {
		sep := []byte{',', ';', '\t'}[which%3]
		if line == "" || strings.ContainsAny(line, "\r\n") {
			return
		}
		fields, problem := splitLine(line, sep, nil)
		cr := csv.NewReader(strings.NewReader(line))
		cr.Comma, cr.FieldsPerRecord = rune(sep), -1
		want, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return // encoding/csv reads no record from some lines (a line of spaces is one in ours)
		}
		if (err != nil) != (problem != "") {
			t.Fatalf("%q: encoding/csv says %v, splitLine %q", line, err, problem)
		}
		if err == nil && !slices.Equal(fields, want) {
			t.Fatalf("%q: encoding/csv %q, splitLine %q", line, want, fields)
		}
	})
}

// seenIDs finds every ID named again, with the line that named it first, across its growth.
func TestSeenIDs_FindsEveryRepeatWithItsFirstLine(t *testing.T) {
	s := newSeenIDs()
	const n = 100_000
	for i := range n {
		if reason := s.claim("user"+strconv.Itoa(i), i+2); reason != "" {
			t.Fatalf("first claim of user%d: %s", i, reason)
		}
	}
	for i := range n {
		want := "is on line " + strconv.Itoa(i+2) + " already"
		if reason := s.claim("user"+strconv.Itoa(i), n+i+2); !strings.Contains(reason, want) {
			t.Fatalf("user%d again: %q, want %q", i, reason, want)
		}
	}
	if s.n != n || s.n*4 > len(s.keys)*3 {
		t.Errorf("%d IDs in %d slots", s.n, len(s.keys))
	}
}
