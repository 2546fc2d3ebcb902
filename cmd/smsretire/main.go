// Command smsretire runs the SMS retirement portal and its operator tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `smsretire — retire SMS verification and move users to stronger factors

Usage:
  smsretire serve [flags]          run the web server (applies migrations first)
  smsretire migrate [flags]        apply database migrations
  smsretire import [flags] [--full] FILE
                                   load users from a CSV roster; --full: the file is the
                                   whole roster, users it does not name leave the campaign
  smsretire notice-link [flags] [--reason R] USER_ID
                                   print a user's signed notice URL
  smsretire assist-code [flags] --reason R USER_ID
                                   issue a one-time assist code for a user, saying why
  smsretire staff add --email E --role agent|supervisor|admin [--name N]
                                   add a support staff member; prints a one-time setup
                                   link (24 h) where they set up how they sign in
  smsretire staff link --email E   a new setup link (the earlier ones stop working)
  smsretire staff disable --email E --reason R
                                   stop a staff member signing in; ends their sessions
  smsretire staff list             list the staff members
  smsretire exempt [flags] USER_ID REASON…
  smsretire exempt [flags] --lift USER_ID
                                   leave a user out of the campaign (or bring them back)
  smsretire version                print the version

The staff audit log names who ran import, notice-link, assist-code and staff: --actor NAME, or
the OS user.

Every flag can also be set with an environment variable SMSRETIRE_<FLAG>, such as
SMSRETIRE_DATABASE_URL for --database-url. Run "smsretire serve -h" for the flags.

Exit status: 0 done; 1 failed; 2 bad usage; 3 (import) some rows were rejected, the others loaded.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		err = migrate(ctx, args[1:], stdout, stderr, getenv)
	case "import":
		err = importRoster(ctx, args[1:], stdout, stderr, getenv)
	case "notice-link":
		err = noticeLink(ctx, args[1:], stdout, stderr, getenv)
	case "assist-code":
		err = assistCode(ctx, args[1:], stdout, stderr, getenv)
	case "staff":
		err = staffCommand(ctx, args[1:], stdout, stderr, getenv)
	case "exempt":
		err = exempt(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "smsretire", buildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "smsretire: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smsretire %s: %v\n", args[0], err)
			return 2
		}
		var rejected rowsRejected
		if errors.As(err, &rejected) {
			fmt.Fprintf(stderr, "smsretire %s: %v\n", args[0], err)
			return 3
		}
		fmt.Fprintf(stderr, "smsretire %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
