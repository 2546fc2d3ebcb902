package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/keyring"
	"github.com/smsretire/smsretire/internal/store"
)

// app is what every subcommand sets up: configuration, logger, keys and the store.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	keys  keyring.Keys
	store *store.SQL
	args  []string
}

// setup parses flags and opens the store. allowDevKeys says whether missing keys may be generated
// into the data directory.
func setup(ctx context.Context, name string, args []string, stderr io.Writer, getenv func(string) string, devKeys func(config.Config) bool) (*app, error) {
	a := &app{}
	fs, err := a.cfg.Parse(name, args, getenv)
	if err != nil {
		return nil, err
	}
	a.args = fs.Args()
	a.log = newLogger(stderr, a.cfg.LogLevel)
	env := keyring.Env{Session: a.cfg.SessionKey, Token: a.cfg.TokenKey, Hash: a.cfg.HashKey, Encryption: a.cfg.EncryptionKeys}
	keys, generated, err := keyring.Load(env, a.cfg.DataDir, devKeys(a.cfg))
	if err != nil {
		return nil, err
	}
	if generated {
		a.log.Warn("generated development keys; configure SMSRETIRE_*_KEY(S) in production", "dir", a.cfg.DataDir)
	} else if !env.Configured() {
		a.log.Warn("using development keys from the data directory", "dir", a.cfg.DataDir)
	}
	a.keys = keys
	db, _ := config.ParseDatabaseURL(a.cfg.DatabaseURL)
	st, err := store.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	a.store = st
	return a, nil
}

func (a *app) close() {
	if a.store != nil {
		a.store.Close()
	}
}

func (a *app) migrate(ctx context.Context) error {
	if err := a.store.Migrate(ctx); err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}

// anyKeys lets operator commands use the development keys wherever they run.
func anyKeys(config.Config) bool { return true }

func (a *app) clockNow() time.Time { return time.Now() }
