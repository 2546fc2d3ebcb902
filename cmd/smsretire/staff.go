package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/staff"
)

// takeValue takes a command's own flag with a value (--name V, --name=V, -name V) out of args,
// before the flags every command shares are parsed; the last one given wins.
func takeValue(args []string, name string) ([]string, string, error) {
	out := make([]string, 0, len(args))
	value := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		switch {
		case a == "--"+name || a == "-"+name:
			if i+1 >= len(args) {
				return nil, "", usageError{"--" + name + " needs a value"}
			}
			value = args[i+1]
			i++
		case strings.HasPrefix(a, "--"+name+"="):
			value = strings.TrimPrefix(a, "--"+name+"=")
		case strings.HasPrefix(a, "-"+name+"="):
			value = strings.TrimPrefix(a, "-"+name+"=")
		default:
			out = append(out, a)
		}
	}
	return out, value, nil
}

// takeActor takes --actor out of args: who runs the command, as the staff audit log names them;
// the OS user when the flag is not given.
func takeActor(args []string) ([]string, staff.Actor, error) {
	args, name, err := takeValue(args, "actor")
	if err != nil {
		return nil, staff.Actor{}, err
	}
	if strings.TrimSpace(name) == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	return args, staff.CLI(name), nil
}

// staffCommand manages the support staff: add (with a one-time setup link), link (a new one),
// disable, list.
func staffCommand(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const use = "want a subcommand: smsretire staff add --email E --role agent|supervisor|admin [--name N], " +
		"staff link --email E, staff disable --email E --reason R, staff list"
	if len(args) == 0 {
		return usageError{use}
	}
	sub, args := args[0], args[1:]
	args, by, err := takeActor(args)
	if err != nil {
		return err
	}
	args, email, err := takeValue(args, "email")
	if err != nil {
		return err
	}
	args, roleName, err := takeValue(args, "role")
	if err != nil {
		return err
	}
	args, name, err := takeValue(args, "name")
	if err != nil {
		return err
	}
	args, reason, err := takeValue(args, "reason")
	if err != nil {
		return err
	}
	c, err := parse("staff "+sub, args, stderr, getenv)
	if err != nil {
		return err
	}
	if len(c.args) != 0 {
		return usageError{use}
	}
	if sub != "list" && strings.TrimSpace(email) == "" {
		return usageError{"want --email: the staff member's email address"}
	}
	var role staff.Role
	if sub == "add" {
		var ok bool
		if role, ok = staff.ParseRole(roleName); !ok {
			return usageError{"want --role agent, supervisor or admin"}
		}
	}
	if sub == "disable" && strings.TrimSpace(reason) == "" {
		return usageError{"say why: --reason TEXT"}
	}
	if sub != "add" && sub != "link" && sub != "disable" && sub != "list" {
		return usageError{use}
	}
	a, closeApp, err := c.open(ctx, operatorDevKeys)
	if err != nil {
		return err
	}
	defer closeApp()
	switch sub {
	case "add":
		m, token, err := a.Staff.Add(ctx, by, email, role, name)
		if errors.Is(err, staff.ErrExists) {
			return fmt.Errorf("a staff member with the email %s exists; `smsretire staff link --email %s` makes a new setup link", email, email)
		}
		if errors.Is(err, staff.ErrInvalidEmail) {
			return usageError{fmt.Sprintf("%q is not an email address", email)}
		}
		if err != nil {
			return err
		}
		printSetupLink(stdout, a, m, token)
	case "link":
		m, err := a.Staff.ByEmail(ctx, email)
		if err != nil {
			return staffNotFound(email, err)
		}
		token, err := a.Staff.NewSetupLink(ctx, by, m.ID)
		if errors.Is(err, staff.ErrNotActive) {
			return fmt.Errorf("%s is disabled", m.Email)
		}
		if err != nil {
			return err
		}
		printSetupLink(stdout, a, m, token)
	case "disable":
		m, err := a.Staff.ByEmail(ctx, email)
		if err != nil {
			return staffNotFound(email, err)
		}
		if err := a.Staff.Disable(ctx, by, m.ID, reason); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is disabled: their setup links and staff sessions ended\n", m.Email)
	case "list":
		ms, err := a.Staff.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tROLE\tSTATUS\tNAME\tADDED")
		for _, m := range ms {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", m.Email, m.Role, m.Status, m.DisplayName, m.CreatedAt.In(c.cfg.Location()).Format("2006-01-02 15:04"))
		}
		return w.Flush()
	}
	return nil
}

func staffNotFound(email string, err error) error {
	if errors.Is(err, staff.ErrNotFound) {
		return fmt.Errorf("no staff member with the email %s", email)
	}
	return err
}

func printSetupLink(w io.Writer, a *app.App, m staff.Member, token string) {
	fmt.Fprintf(w, "%s (%s): send them this one-time setup link, valid for %s, to set up how they sign in:\n%s\n",
		m.Email, m.Role, staff.SetupLinkTTL, a.StaffSetupLink(token))
}
