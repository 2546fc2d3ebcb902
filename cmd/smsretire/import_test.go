package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// deployment is a database and the data directory that holds its development keys.
type deployment struct{ url, dataDir string }

// importCommand runs `smsretire import FILE` against the deployment.
func importCommand(d deployment, file string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	getenv := func(string) string { return "" }
	code = run(context.Background(), []string{"import", "--database-url", d.url, "--data-dir", d.dataDir, file}, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}

func eachDatabase(t *testing.T, fn func(t *testing.T, d deployment)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, deployment{"sqlite:" + filepath.Join(t.TempDir(), "r.db"), t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { fn(t, deployment{testsupport.PostgresDatabase(t).URL, t.TempDir()}) })
}

// `smsretire import` loads a roster into either store, through COPY on PostgreSQL, and prints
// each bad row and the summary alike; rows rejected make the exit status 3, while the good rows
// load.
func TestImportCommand_BothStores(t *testing.T) {
	csv := "user_id,phone,email,name,locale,deadline,id_last4\n" +
		"u1,138 1234 5678,a@example.com,张伟,zh-Hans,2026-12-31,123x\n" +
		"u2,12345,,,,2026-12-31,\n" +
		"u3,+86-139-0000-0000,,,en,2027-01-15,\n"
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	eachDatabase(t, func(t *testing.T, d deployment) {
		code, stdout, stderr := importCommand(d, file)
		if code != 3 || !strings.Contains(stderr, "1 rows rejected") {
			t.Fatalf("exit %d, want 3: %s", code, stderr)
		}
		want := file + ": line 3: phone \"12345\" is not a valid number\n3 rows read: 2 added, 0 updated, 0 unchanged, 1 rejected\n"
		if stdout != want {
			t.Errorf("output:\n%s\nwant:\n%s", stdout, want)
		}
		db, _ := config.ParseDatabaseURL(d.url)
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n, _ := st.CountUsers(context.Background()); n != 2 {
			t.Errorf("users = %d", n)
		}
		if u, err := st.UserByID(context.Background(), "u3"); err != nil || u.Phone != "+8613900000000" || !strings.Contains(u.Locale, "en") {
			t.Errorf("u3 = %+v, %v", u, err)
		}
	})
}

// The operators' files from internal/roster/testdata through the command: what it prints and its
// exit status.
func TestImportCommand_OperatorsFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "roster", "testdata")
	tests := []struct {
		file   string
		code   int
		output []string // lines of the output after "FILE: ", in order
	}{
		{"excel_gbk.csv", 0, []string{"the file is not UTF-8: read as GB18030 (GBK)", "5 rows read: 5 added, 0 updated, 0 unchanged, 0 rejected"}},
		{"excel_semicolon.csv", 0, []string{"the separator is a semicolon, not a comma", "3 rows read: 3 added"}},
		{"unterminated_quote.csv", 3, []string{"line 3: column 4 opens a quote that does not close on this line", "6 rows read: 5 added, 0 updated, 0 unchanged, 1 rejected"}},
		{"duplicate_ids.csv", 3, []string{`line 5: user_id "d1" is on line 2 already: this later row is refused, line 2 loads`,
			`line 7: user_id "d2" is on line 3 already`, `line 8: user_id "d1" is on line 2 already`, "7 rows read: 4 added, 0 updated, 0 unchanged, 3 rejected"}},
		{"not_text.csv", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			eachDatabase(t, func(t *testing.T, d deployment) {
				file := filepath.Join(dir, tt.file)
				code, stdout, stderr := importCommand(d, file)
				if code != tt.code {
					t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
				}
				lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
				if tt.output == nil {
					if !strings.Contains(stderr, "neither UTF-8 nor GB18030") || !strings.Contains(stderr, "line 2") {
						t.Errorf("stderr: %s", stderr)
					}
					return
				}
				if len(lines) != len(tt.output) {
					t.Fatalf("output:\n%s\nwant %d lines", stdout, len(tt.output))
				}
				for i, want := range tt.output {
					if !strings.Contains(lines[i], want) {
						t.Errorf("line %d of the output: %q, want %q in it", i+1, lines[i], want)
					}
				}
				// The same file again changes nothing.
				_, again, _ := importCommand(d, file)
				if last := again[strings.LastIndex(strings.TrimSuffix(again, "\n"), "\n")+1:]; !strings.Contains(last, " 0 added, 0 updated,") {
					t.Errorf("the same file again: %s", last)
				}
			})
		})
	}
}
