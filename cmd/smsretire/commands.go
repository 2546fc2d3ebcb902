package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/rollout"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/staff"
	"github.com/smsretire/smsretire/internal/store"
)

// The operator commands may use the development keys wherever they run.
const operatorDevKeys = true

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parse("migrate", args, stderr, getenv)
	if err != nil {
		return err
	}
	_, closeApp, err := c.open(ctx, operatorDevKeys) // opening applies the migrations
	if err != nil {
		return err
	}
	defer closeApp()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func importRoster(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	args, full := takeFlag(args, "full")
	args, by, err := takeActor(args)
	if err != nil {
		return err
	}
	c, err := parse("import", args, stderr, getenv)
	if err != nil {
		return err
	}
	if len(c.args) != 1 {
		return usageError{"want one CSV file: smsretire import [--full] FILE.csv"}
	}
	a, closeApp, err := c.open(ctx, operatorDevKeys)
	if err != nil {
		return err
	}
	defer closeApp()
	f, err := os.Open(c.args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	opt := roster.Options{
		Region:    c.cfg.DefaultRegion,
		Hasher:    a.IDs,
		Waves:     c.cfg.Campaign.WaveDeadlines(),
		Full:      full,
		OnProblem: func(p roster.Problem) { fmt.Fprintf(out, "%s: %s\n", c.args[0], p) },
		OnFormat: func(f roster.Format) {
			for _, note := range f.Notes() {
				fmt.Fprintf(out, "%s: %s\n", c.args[0], note)
			}
		},
	}
	var sum roster.Summary
	if a.Store.Dialect() == store.Postgres {
		// Streamed with COPY and merged a chunk at a time: fast, and memory stays flat.
		sum, err = roster.ImportCopy(ctx, f, a.Store, opt)
	} else {
		sum, err = roster.Import(ctx, f, a.Store, opt)
	}
	fmt.Fprintln(out, sum)
	if err != nil {
		return err
	}
	if err := a.Staff.Log(ctx, staff.Entry{Actor: by, Action: staff.ActionImport, Detail: map[string]string{
		"file": filepath.Base(c.args[0]), "full": fmt.Sprint(full), "rows": fmt.Sprint(sum.Rows), "added": fmt.Sprint(sum.Added),
		"updated": fmt.Sprint(sum.Updated), "rejected": fmt.Sprint(sum.Rejected), "out_of_scope": fmt.Sprint(sum.OutOfScope)}}); err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return rowsRejected(sum.Rejected)
	}
	return nil
}

// takeFlag takes a command's own boolean flag (--name or -name) out of args, before the flags
// every command shares are parsed.
func takeFlag(args []string, name string) ([]string, bool) {
	out := make([]string, 0, len(args))
	found := false
	for i, a := range args {
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if a == "--"+name || a == "-"+name {
			found = true
			continue
		}
		out = append(out, a)
	}
	return out, found
}

// exempt leaves a user out of the campaign (no notice, no reminder, SMS stays open), with a
// reason in their history, or with --lift brings them back.
func exempt(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	args, lift := takeFlag(args, "lift")
	c, err := parse("exempt", args, stderr, getenv)
	if err != nil {
		return err
	}
	if lift && len(c.args) != 1 || !lift && len(c.args) < 2 {
		return usageError{"want a user ID and a reason: smsretire exempt USER_ID REASON…, or smsretire exempt --lift USER_ID"}
	}
	a, closeApp, err := c.open(ctx, operatorDevKeys)
	if err != nil {
		return err
	}
	defer closeApp()
	id := c.args[0]
	if lift {
		err = a.Rollout.LiftExemption(ctx, id, "cli", audit.Client{IP: "cli"})
	} else {
		err = a.Rollout.Exempt(ctx, id, strings.Join(c.args[1:], " "), "cli", audit.Client{IP: "cli"})
	}
	switch {
	case errors.Is(err, campaign.ErrUserNotFound):
		return fmt.Errorf("no user %q in the roster", id)
	case errors.Is(err, rollout.ErrReason):
		return usageError{err.Error()}
	case err != nil:
		return err
	case lift:
		fmt.Fprintf(stdout, "%s is back in the campaign\n", id)
	default:
		fmt.Fprintf(stdout, "%s is exempt from the campaign: no notice or reminder, SMS stays open\n", id)
	}
	return nil
}

// rowsRejected ends an import that loaded the good rows and refused others: exit code 3, so a
// script notices.
type rowsRejected int

func (n rowsRejected) Error() string {
	return fmt.Sprintf("%d rows rejected (listed above); the other rows loaded", int(n))
}

func noticeLink(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	args, by, err := takeActor(args)
	if err != nil {
		return err
	}
	args, reason, err := takeValue(args, "reason")
	if err != nil {
		return err
	}
	c, err := parse("notice-link", args, stderr, getenv)
	if err != nil {
		return err
	}
	if len(c.args) != 1 {
		return usageError{"want one user ID: smsretire notice-link USER_ID"}
	}
	a, closeApp, err := c.open(ctx, operatorDevKeys)
	if err != nil {
		return err
	}
	defer closeApp()
	u, err := a.Store.UserByID(ctx, c.args[0])
	if errors.Is(err, campaign.ErrUserNotFound) {
		return fmt.Errorf("no user %q in the roster", c.args[0])
	}
	if err != nil {
		return err
	}
	if err := a.Staff.Log(ctx, staff.Entry{Actor: by, Action: staff.ActionNoticeLink, UserID: u.ID, Reason: reason}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, a.NoticeLink(u.ID))
	return nil
}

func assistCode(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	args, by, err := takeActor(args)
	if err != nil {
		return err
	}
	args, reason, err := takeValue(args, "reason")
	if err != nil {
		return err
	}
	c, err := parse("assist-code", args, stderr, getenv)
	if err != nil {
		return err
	}
	if len(c.args) != 1 {
		return usageError{"want one user ID: smsretire assist-code --reason TEXT USER_ID"}
	}
	if reason, err = staff.RequireReason(reason); err != nil {
		return usageError{"say why: --reason TEXT (the staff audit log keeps it)"}
	}
	a, closeApp, err := c.open(ctx, operatorDevKeys)
	if err != nil {
		return err
	}
	defer closeApp()
	code, expires, err := a.Identity.IssueAssistCode(ctx, c.args[0], by.Name, audit.Client{IP: "cli"}, func(tx *store.Tx) error {
		return staff.Record(ctx, tx, staff.Entry{Actor: by, Action: staff.ActionIssueAssist, UserID: c.args[0], Reason: reason, At: a.Clock.Now()})
	})
	if errors.Is(err, campaign.ErrUserNotFound) {
		return fmt.Errorf("no user %q in the roster", c.args[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "assist code for %s: %s-%s (single use, valid until %s)\n", c.args[0], code[:4], code[4:],
		expires.In(c.cfg.Location()).Format("2006-01-02 15:04 MST"))
	return nil
}
