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
)

// runCommand runs a subcommand against the deployment, with its flags before the arguments.
func runCommand(d deployment, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	all := append([]string{args[0], "--database-url", d.url, "--data-dir", d.dataDir}, args[1:]...)
	code = run(context.Background(), all, &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// The campaign from the command line: a roster with a wave column read with the configuration
// file, a full roster that takes the users it no longer names out of scope, and an exemption
// with its reason, lifted again.
func TestCampaignCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "campaign.toml")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("campaign.toml", "[[wave]]\nname = \"staff\"\nstart = 2026-11-02\ndeadline = 2026-11-30\n")
	first := write("first.csv", "user_id,phone,email,name,locale,deadline,id_last4,wave\n"+
		"u1,13800000001,,,,,,staff\nu2,13800000002,,,,2027-01-15,,\nu3,13800000003,,,,2027-01-15,,\n")
	second := write("second.csv", "user_id,phone,email,name,locale,deadline,id_last4,wave\nu1,13800000001,,,,,,staff\nu2,13800000002,,,,2027-01-15,,\n")
	eachDatabase(t, func(t *testing.T, d deployment) {
		if code, _, stderr := runCommand(d, "import", first); code != 3 || !strings.Contains(stderr, "1 rows rejected") {
			t.Errorf("wave without --config-file: exit %d %s", code, stderr)
		}
		if code, stdout, stderr := runCommand(d, "import", "--config-file", cfg, first); code != 0 || !strings.HasSuffix(stdout, "3 rows read: 1 added, 0 updated, 2 unchanged, 0 rejected\n") {
			t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
		}
		code, stdout, stderr := runCommand(d, "import", "--full", "--config-file", cfg, second)
		if code != 0 || !strings.HasSuffix(stdout, "2 rows read: 0 added, 0 updated, 2 unchanged, 0 rejected; 1 taken out of scope\n") {
			t.Fatalf("import --full: exit %d\n%s%s", code, stdout, stderr)
		}
		if code, stdout, _ := runCommand(d, "exempt", "u2", "shared", "service", "account"); code != 0 || !strings.Contains(stdout, "u2 is exempt") {
			t.Errorf("exempt: %d %s", code, stdout)
		}
		if code, _, stderr := runCommand(d, "exempt", "u2"); code != 2 || !strings.Contains(stderr, "want a user ID and a reason") {
			t.Errorf("exempt without a reason: %d %s", code, stderr)
		}
		if code, _, stderr := runCommand(d, "exempt", "nobody", "x"); code != 1 || !strings.Contains(stderr, `no user "nobody"`) {
			t.Errorf("exempt of nobody: %d %s", code, stderr)
		}
		db, _ := config.ParseDatabaseURL(d.url)
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		u1, _ := st.UserByID(ctx, "u1")
		u2, _ := st.UserByID(ctx, "u2")
		u3, _ := st.UserByID(ctx, "u3")
		if u1.Wave != "staff" || u1.Deadline.String() != "2026-11-30" || u2.ExemptReason != "shared service account" || u3.InScope() {
			t.Errorf("u1 %+v\nu2 %+v\nu3 %+v", u1, u2, u3)
		}
		if code, stdout, _ := runCommand(d, "exempt", "--lift", "u2"); code != 0 || !strings.Contains(stdout, "back in the campaign") {
			t.Errorf("lift: %d %s", code, stdout)
		}
		if u2, _ = st.UserByID(ctx, "u2"); u2.Exempt() {
			t.Errorf("u2 still exempt")
		}
	})
}
