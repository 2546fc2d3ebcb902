package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// File is the operator's configuration file (--config-file, TOML): what a flag cannot say, one
// section per feature. Each section is read into the Config by its own loader; a key the file
// has and no section knows is an error, so a typo never goes unnoticed.
type File struct {
	Partners []PartnerEntry `toml:"partner"`  // [[partner]]: sites that embed the portal
	Clients  []Client       `toml:"client"`   // [[client]]: services that sign in through the OpenID Connect provider
	OIDC     OIDC           `toml:"oidc"`     // [oidc]: the provider's signing keys and lifetimes
	Campaign CampaignFile   `toml:"campaign"` // [campaign]: the campaign's rules
	Waves    []WaveFile     `toml:"wave"`     // [[wave]]: its waves
}

// ReadFile reads and decodes the configuration file at path. Unknown keys are an error naming
// them.
func ReadFile(path string) (File, error) {
	var f File
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return File{}, fmt.Errorf("config-file %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, 0, len(undecoded))
		for _, k := range undecoded {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		return File{}, fmt.Errorf("config-file %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	return f, nil
}

// loadFile reads --config-file, when given, into c: each section through its loader. Secrets
// named by *_env keys come from getenv, and files named in it are read relative to its folder.
func (c *Config) loadFile(getenv func(string) string) error {
	if c.ConfigFile == "" {
		return nil
	}
	f, err := ReadFile(c.ConfigFile)
	if err != nil {
		return err
	}
	var errs []error
	if err := f.OIDC.load(filepath.Dir(c.ConfigFile), getenv); err != nil {
		errs = append(errs, fmt.Errorf("config-file %s: [oidc]: %w", c.ConfigFile, err))
	}
	c.OIDC = f.OIDC
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("time-zone: %w", err)
	}
	if c.Campaign, err = f.campaign(loc); err != nil {
		errs = append(errs, fmt.Errorf("config-file %s: %w", c.ConfigFile, err))
	}
	return errors.Join(append(errs, c.addSections(c.ConfigFile, f, getenv))...)
}

// AddDemoFile adds the sections of a file that --demo generated (internal/demo) to a validated
// configuration, leaving out any whose ID the operator's file configures already, and validates
// again. The demo file has no [oidc] or [campaign] section.
func (c *Config) AddDemoFile(path string, getenv func(string) string) error {
	f, err := ReadFile(path)
	if err != nil {
		return err
	}
	f.Clients = slices.DeleteFunc(f.Clients, func(cl Client) bool { _, ok := c.ClientByID(cl.ID); return ok })
	f.Partners = slices.DeleteFunc(f.Partners, func(p PartnerEntry) bool {
		return slices.ContainsFunc(c.Partners, func(q Partner) bool { return q.ID == p.ID })
	})
	if err := c.addSections(path, f, getenv); err != nil {
		return err
	}
	return c.Validate()
}

// addSections loads the sections of f, read from path, into c.
func (c *Config) addSections(path string, f File, getenv func(string) string) error {
	dir := filepath.Dir(path)
	var errs []error
	for i, p := range f.Partners {
		partner, err := p.load(dir, getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("config-file %s: [[partner]] %d (%q): %w", path, i+1, p.ID, err))
			continue
		}
		c.Partners = append(c.Partners, partner)
	}
	for i, cl := range f.Clients {
		if err := cl.load(getenv); err != nil {
			errs = append(errs, fmt.Errorf("config-file %s: [[client]] %d (%q): %w", path, i+1, cl.ID, err))
			continue
		}
		c.Clients = append(c.Clients, cl)
	}
	return errors.Join(errs...)
}

// secretFrom returns an inline secret or the environment variable env names; naming both, or a
// variable that is empty, is an error.
func secretFrom(inline, env, key string, getenv func(string) string) (string, error) {
	switch {
	case inline != "" && env != "":
		return "", fmt.Errorf("%s and %s_env: give one", key, key)
	case env != "":
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is empty or not set", key, env)
		}
		return v, nil
	}
	return inline, nil
}

// readBeside reads a file named in the configuration file, relative to its folder, refusing one
// larger than limit bytes.
func readBeside(dir, name string, limit int64) ([]byte, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", name, st.Size(), limit)
	}
	return os.ReadFile(name)
}
