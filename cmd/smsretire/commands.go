package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/store"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	a, err := setup(ctx, "migrate", args, stderr, getenv, anyKeys)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func importRoster(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	a, err := setup(ctx, "import", args, stderr, getenv, anyKeys)
	if err != nil {
		return err
	}
	defer a.close()
	if len(a.args) != 1 {
		return usageError{"want one CSV file: smsretire import FILE.csv"}
	}
	if err := a.migrate(ctx); err != nil {
		return err
	}
	f, err := os.Open(a.args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	opt := roster.Options{
		Region:    a.cfg.DefaultRegion,
		Hasher:    campaign.NewIDHasher(a.keys.Hash),
		OnProblem: func(p roster.Problem) { fmt.Fprintf(out, "%s: %s\n", a.args[0], p) },
	}
	var sum roster.Summary
	if a.store.Dialect() == store.Postgres {
		// Streamed with COPY and merged a chunk at a time: fast, and memory stays flat.
		sum, err = roster.ImportCopy(ctx, f, a.store, opt)
	} else {
		sum, err = roster.Import(ctx, f, a.store, opt)
	}
	fmt.Fprintln(out, sum)
	return err
}

func noticeLink(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	a, err := setup(ctx, "notice-link", args, stderr, getenv, anyKeys)
	if err != nil {
		return err
	}
	defer a.close()
	if len(a.args) != 1 {
		return usageError{"want one user ID: smsretire notice-link USER_ID"}
	}
	if err := a.migrate(ctx); err != nil {
		return err
	}
	u, err := a.store.UserByID(ctx, a.args[0])
	if errors.Is(err, campaign.ErrUserNotFound) {
		return fmt.Errorf("no user %q in the roster", a.args[0])
	}
	if err != nil {
		return err
	}
	signer, err := campaign.NewNoticeSigner(a.keys.Token)
	if err != nil {
		return err
	}
	now := a.clockNow()
	fmt.Fprintln(stdout, a.cfg.BaseURL+"/notice/"+signer.Sign(u.ID, now.Add(a.cfg.NoticeLinkTTL)))
	return nil
}

func assistCode(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	a, err := setup(ctx, "assist-code", args, stderr, getenv, anyKeys)
	if err != nil {
		return err
	}
	defer a.close()
	if len(a.args) != 1 {
		return usageError{"want one user ID: smsretire assist-code USER_ID"}
	}
	if err := a.migrate(ctx); err != nil {
		return err
	}
	svc := identity.New(a.store, clock.System{}, keyring.Derive(a.keys.Hash, "codes", 32), campaign.NewIDHasher(a.keys.Hash),
		identity.Settings{AssistTTL: a.cfg.AssistCodeTTL, Location: a.cfg.Location()}, identity.CodeMessage)
	code, expires, err := svc.IssueAssistCode(ctx, a.args[0], "cli", identity.Client{IP: "cli"})
	if errors.Is(err, campaign.ErrUserNotFound) {
		return fmt.Errorf("no user %q in the roster", a.args[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "assist code for %s: %s-%s (single use, valid until %s)\n", a.args[0], code[:4], code[4:],
		expires.In(a.cfg.Location()).Format("2006-01-02 15:04 MST"))
	return nil
}
