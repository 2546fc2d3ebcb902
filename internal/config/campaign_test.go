package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// parseCampaign reads a configuration file of text, as --config-file, and returns its campaign.
func parseCampaign(t *testing.T, text string) (Campaign, error) {
	t.Helper()
	c, err := parseWith(t, "http://localhost:8080", text, nil, nil)
	return c.Campaign, err
}

func TestConfigFile_CampaignAndWaves(t *testing.T) {
	c, err := parseCampaign(t, `
[campaign]
start = 2026-11-16
reminder_days = [7, 30, 1, 7]
quiet_hours = "21:30-07:00"
grace_days = 10
snooze_limit = 2
snooze_days = 5
notice_sms = false

[[wave]]
name = "staff"
start = 2026-11-02T09:30
deadline = 2026-11-30

[[wave]]
name = "everyone"
start = "2026-12-01"
deadline = "2027-01-31"
`)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Start.Equal(time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai)) || c.GraceDays != 10 || c.SnoozeLimit != 2 || c.SnoozeDays != 5 || c.NoticeSMS {
		t.Errorf("campaign %+v", c)
	}
	if len(c.ReminderDays) != 3 || c.ReminderDays[0] != 30 || c.ReminderDays[2] != 1 {
		t.Errorf("reminder days %v: want 30, 7, 1", c.ReminderDays)
	}
	if c.QuietFrom != 21*60+30 || c.QuietUntil != 7*60 {
		t.Errorf("quiet %d–%d", c.QuietFrom, c.QuietUntil)
	}
	staff, ok := c.Wave("staff")
	if !ok || !staff.Start.Equal(time.Date(2026, 11, 2, 9, 30, 0, 0, shanghai)) || staff.Deadline.String() != "2026-11-30" {
		t.Errorf("staff %+v", staff)
	}
	if d := c.WaveDeadlines()["everyone"]; d.String() != "2027-01-31" {
		t.Errorf("everyone deadline %s", d)
	}
}

func TestConfigFile_CampaignDefaults(t *testing.T) {
	c, err := parseCampaign(t, "")
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultCampaign()
	if len(c.ReminderDays) != 3 || c.QuietFrom != d.QuietFrom || c.QuietUntil != d.QuietUntil || c.GraceDays != 14 ||
		c.SnoozeLimit != 3 || c.SnoozeDays != 3 || !c.NoticeSMS || len(c.Waves) != 0 || !c.Start.IsZero() {
		t.Errorf("defaults %+v", c)
	}
}

// Mistakes are refused with a message that names the key and says what is wanted.
func TestConfigFile_RefusesCampaignMistakes(t *testing.T) {
	cases := map[string]string{
		"[campaign]\nreminder_day = [1]":                                                   "unknown keys: campaign.reminder_day",
		"[campaign]\nquiet_hours = \"22-8\"":                                               "quiet_hours",
		"[campaign]\nreminder_days = [0]":                                                  "reminder_days",
		"[campaign]\ngrace_days = -1":                                                      "grace_days",
		"[[wave]]\nname = \"a\"\nstart = 2026-12-01":                                       "needs start and deadline",
		"[[wave]]\nname = \"A b\"\nstart = 2026-12-01\ndeadline = 2027-01-01":              "name",
		"[[wave]]\nname = \"a\"\nstart = 2027-02-01\ndeadline = 2027-01-01":                "not before the deadline",
		"[[wave]]\nname = \"a\"\nstart = 2026-12-01T00:00:00+08:00\ndeadline = 2027-01-01": "without an offset",
		"[[wave]]\nname = \"a\"\nstart = 2026-12-01\ndeadline = 2027-01-01T10:00":          "deadline: want a date",
		"[[wave]]\nname = \"a\"\nstart = 2026-12-01\ndeadline = 2027-01-01\n[[wave]]\nname = \"a\"\nstart = 2026-12-01\ndeadline = 2027-01-01": "named twice",
		"[[wave]]\nname = \"a\"\nstart = \"soon\"\ndeadline = 2027-01-01":                                                                      "want YYYY-MM-DD",
	}
	for text, want := range cases {
		if _, err := parseCampaign(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", text, err, want)
		}
	}
}

// --config-file is read when the configuration is validated; a missing file is an error.
func TestConfig_ReadsCampaignFromConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smsretire.toml")
	if err := os.WriteFile(path, []byte("[[wave]]\nname = \"w\"\nstart = 2026-12-01\ndeadline = 2027-01-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	env := map[string]string{"SMSRETIRE_CONFIG_FILE": path}
	if _, err := c.Parse("serve", nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if len(c.Campaign.Waves) != 1 || c.Campaign.Waves[0].Name != "w" {
		t.Errorf("waves %+v", c.Campaign.Waves)
	}
	var missing Config
	if _, err := missing.Parse("serve", []string{"--config-file", filepath.Join(t.TempDir(), "none.toml")}, func(string) string { return "" }); err == nil {
		t.Error("a missing config file was accepted")
	}
	var same Config
	if _, err := same.Parse("serve", []string{"--metrics-addr", "127.0.0.1:8080"}, func(string) string { return "" }); err == nil {
		t.Error("metrics on the portal's address was accepted")
	}
}
