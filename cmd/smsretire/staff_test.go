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

// command runs smsretire with args against the deployment.
func (d deployment) command(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	getenv := func(string) string { return "" }
	n := 1 // the flags follow the command, and staff's subcommand
	if args[0] == "staff" {
		n = 2
	}
	args = append(append(append([]string(nil), args[:n]...), "--database-url", d.url, "--data-dir", d.dataDir, "--base-url", "https://portal.example"), args[n:]...)
	code = run(context.Background(), args, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}

// The operator's commands write the staff audit log, naming --actor: staff add prints a setup
// link; import, notice-link and assist-code (which asks why) record what they did to whom.
func TestStaffCommands_WriteTheAuditLog(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte("user_id,phone,email,name,locale,deadline,id_last4\nu1,13812345678,,,,2026-12-31,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eachDatabase(t, func(t *testing.T, d deployment) {
		code, out, errOut := d.command("staff", "add", "--email", "Ann@Example.com", "--role", "supervisor", "--name", "Ann", "--actor", "ops-1")
		if code != 0 || !strings.Contains(out, "ann@example.com (supervisor)") || !strings.Contains(out, "https://portal.example/staff/setup/") {
			t.Fatalf("staff add: %d %q %q", code, out, errOut)
		}
		if code, _, errOut := d.command("staff", "add", "--email", "ann@example.com", "--role", "agent"); code != 1 || !strings.Contains(errOut, "exists") {
			t.Errorf("second add: %d %q", code, errOut)
		}
		if code, _, _ := d.command("staff", "add", "--email", "bob@example.com", "--role", "root"); code != 2 {
			t.Errorf("add with role root: %d", code)
		}
		if code, out, errOut := d.command("import", "--actor", "ops-1", file); code != 0 {
			t.Log(out, errOut)
			t.Fatalf("import: %d", code)
		}
		if code, out, errOut := d.command("assist-code", "--actor", "ops-1", "u1"); code != 2 || out != "" || !strings.Contains(errOut, "--reason") {
			t.Errorf("assist-code without a reason: %d %q %q", code, out, errOut)
		}
		if code, out, errOut := d.command("assist-code", "--actor", "ops-1", "--reason", "caller lost the phone", "u1"); code != 0 || !strings.Contains(out, "assist code for u1") {
			t.Fatalf("assist-code: %d %q %q", code, out, errOut)
		}
		if code, out, _ := d.command("notice-link", "--actor=ops-2", "u1"); code != 0 || !strings.Contains(out, "/notice/") {
			t.Fatalf("notice-link: %d %q", code, out)
		}
		if code, out, _ := d.command("staff", "disable", "--email", "ann@example.com", "--reason", "left", "--actor", "ops-1"); code != 0 || !strings.Contains(out, "disabled") {
			t.Fatalf("staff disable: %d %q", code, out)
		}
		if code, out, _ := d.command("staff", "list"); code != 0 || !strings.Contains(out, "ann@example.com  supervisor  disabled  Ann") {
			t.Errorf("staff list: %d\n%s", code, out)
		}

		db, _ := config.ParseDatabaseURL(d.url)
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		log, err := st.StaffAudit(context.Background(), store.StaffAuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			if e.StaffID != "" || e.StaffRole != "" {
				t.Errorf("a command's entry names a staff member: %+v", e)
			}
			got = append(got, strings.Join([]string{e.Actor, e.Action, e.UserID, e.Reason, e.Detail["op"] + e.Detail["added"]}, "|"))
		}
		want := []string{
			"cli:ops-1|manage_staff||left|disable",
			"cli:ops-2|notice_link|u1||",
			"cli:ops-1|issue_assist|u1|caller lost the phone|",
			"cli:ops-1|import|||1",
			"cli:ops-1|manage_staff|||add",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		evs, _ := st.Events(context.Background(), "u1", 10)
		found := false
		for _, ev := range evs {
			found = found || ev.Actor == "cli:ops-1" && ev.Type == "assist.issued"
		}
		if !found {
			t.Errorf("the user's history does not say who issued the assist code: %+v", evs)
		}
	})
}
