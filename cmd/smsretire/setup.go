package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/views/message"
)

// command is what every subcommand starts from: its configuration, logger and arguments.
type command struct {
	cfg  config.Config
	log  *slog.Logger
	args []string
}

// parse reads the flags (and the environment) of subcommand name.
func parse(name string, args []string, stderr io.Writer, getenv func(string) string) (*command, error) {
	c := &command{}
	fs, err := c.cfg.Parse(name, args, getenv)
	if err != nil {
		return nil, err
	}
	c.args = fs.Args()
	c.log = newLogger(stderr, c.cfg.LogLevel)
	return c, nil
}

// open builds the portal with internal/app: keys (development keys in --data-dir when
// allowDevKeys), the migrated store, the catalog, the message renderer and every service. close
// releases the store.
func (c *command) open(ctx context.Context, allowDevKeys bool) (a *app.App, close func(), err error) {
	keys, st, err := app.Open(ctx, c.cfg, c.log, allowDevKeys)
	if err != nil {
		return nil, nil, err
	}
	cat, err := i18n.Load()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	a, err = app.New(app.Parts{Config: c.cfg, Keys: keys, Store: st, Catalog: cat, Render: message.NewRenderer(cat, c.cfg), Logger: c.log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { st.Close() }, nil
}
