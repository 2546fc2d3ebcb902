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

// `smsretire import` loads a roster into either store, through COPY on PostgreSQL, and prints
// each bad row and the summary alike.
func TestImportCommand_BothStores(t *testing.T) {
	csv := "user_id,phone,email,name,locale,deadline,id_last4\n" +
		"u1,138 1234 5678,a@example.com,张伟,zh-Hans,2026-12-31,123x\n" +
		"u2,12345,,,,2026-12-31,\n" +
		"u3,+86-139-0000-0000,,,en,2027-01-15,\n"
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, url string }{
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "r.db")},
		{"postgres", testsupport.PostgresDatabase(t).URL},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(string) string { return "" }
			code := run(context.Background(), []string{"import", "--database-url", c.url, "--data-dir", t.TempDir(), file}, &stdout, &stderr, getenv)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want := file + ": line 3: phone \"12345\" is not a valid number\n3 rows read: 2 added, 0 updated, 1 rejected\n"
			if stdout.String() != want {
				t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
			}
			db, _ := config.ParseDatabaseURL(c.url)
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
}
