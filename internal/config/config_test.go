package config

import (
	"os"
	"strings"
	"testing"
)

func TestParseDatabaseURL(t *testing.T) {
	cases := []struct{ in, driver, path string }{
		{"sqlite://data/smsretire.db", "sqlite", "data/smsretire.db"},
		{"sqlite:data/x.db", "sqlite", "data/x.db"},
		{"sqlite:///tmp/x.db", "sqlite", "/tmp/x.db"},
		{"sqlite:/tmp/x.db", "sqlite", "/tmp/x.db"},
		{"postgres://u@127.0.0.1:5432/test", "postgres", ""},
	}
	for _, c := range cases {
		db, err := ParseDatabaseURL(c.in)
		if err != nil || db.Driver != c.driver || db.Path != c.path {
			t.Errorf("ParseDatabaseURL(%q) = %+v, %v", c.in, db, err)
		}
	}
	for _, bad := range []string{"", "mysql://x", "sqlite:", "sqlite://"} {
		if _, err := ParseDatabaseURL(bad); err == nil {
			t.Errorf("ParseDatabaseURL(%q) accepted", bad)
		}
	}
}

func TestParse_FlagBeatsEnvBeatsDefault(t *testing.T) {
	env := map[string]string{"SMSRETIRE_ADDR": "127.0.0.1:9999", "SMSRETIRE_BASE_URL": "https://portal.example.cn/", "SMSRETIRE_DEMO": "true"}
	var c Config
	if _, err := c.Parse("t", []string{"--addr", "127.0.0.1:7777"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7777" || c.BaseURL != "https://portal.example.cn" || !c.Demo || c.TimeZone != "Asia/Shanghai" {
		t.Errorf("got %+v", c)
	}
	if !c.SecureCookies() {
		t.Error("https base URL must give secure cookies")
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:80": true, "[::1]:8080": true, ":8080": false, "0.0.0.0:8080": false, "10.0.0.1:80": false} {
		c := Config{Addr: addr}
		if got := c.LoopbackOnly(); got != want {
			t.Errorf("LoopbackOnly(%q) = %v", addr, got)
		}
	}
}

// Every flag and secret is documented in README.md with its environment variable.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	missing := []string{}
	for _, name := range flagNames(&c) {
		if !strings.Contains(string(readme), "`--"+name+"`") || !strings.Contains(string(readme), "`"+EnvName(name)+"`") {
			missing = append(missing, name)
		}
	}
	for _, s := range Secrets {
		if !strings.Contains(string(readme), "`"+s.Env+"`") {
			missing = append(missing, s.Env)
		}
	}
	if len(missing) > 0 {
		t.Errorf("README.md does not document: %v", missing)
	}
}
