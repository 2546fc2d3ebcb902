package config

import (
	"strings"
	"testing"
)

func TestParse_DeliverySettings(t *testing.T) {
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		ok   bool
	}{
		{"defaults", nil, nil, true},
		{"http gateway with URL and secret", map[string]string{"SMSRETIRE_SMS_GATEWAY": "http", "SMSRETIRE_SMS_URL": "https://sms.example.cn/send", "SMSRETIRE_SMS_SECRET": secret}, nil, true},
		{"http gateway without secret", map[string]string{"SMSRETIRE_SMS_GATEWAY": "http", "SMSRETIRE_SMS_URL": "https://sms.example.cn/send"}, nil, false},
		{"http gateway with short secret", map[string]string{"SMSRETIRE_SMS_GATEWAY": "http", "SMSRETIRE_SMS_URL": "https://sms.example.cn/send", "SMSRETIRE_SMS_SECRET": "short"}, nil, false},
		{"http gateway with a non-http URL", map[string]string{"SMSRETIRE_SMS_GATEWAY": "http", "SMSRETIRE_SMS_URL": "ftp://sms.example.cn", "SMSRETIRE_SMS_SECRET": secret}, nil, false},
		{"no attempts", nil, []string{"--outbox-max-attempts", "0"}, false},
		{"no poll", map[string]string{"SMSRETIRE_OUTBOX_POLL": "0s"}, nil, false},
		{"custom", map[string]string{"SMSRETIRE_OUTBOX_POLL": "250ms"}, []string{"--outbox-max-attempts", "3"}, true},
	}
	for _, c := range cases {
		var cfg Config
		_, err := cfg.Parse("t", c.args, func(k string) string { return c.env[k] })
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	var cfg Config
	if _, err := cfg.Parse("t", []string{"--outbox-max-attempts", "3"}, func(k string) string {
		return map[string]string{"SMSRETIRE_OUTBOX_POLL": "250ms", "SMSRETIRE_SMS_SECRET": secret}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if cfg.OutboxMaxAttempts != 3 || cfg.OutboxPoll.String() != "250ms" || cfg.SMSSecret != secret {
		t.Errorf("got attempts %d, poll %v, secret set %v", cfg.OutboxMaxAttempts, cfg.OutboxPoll, cfg.SMSSecret == secret)
	}
	if d := Default(); d.OutboxMaxAttempts != 8 || d.OutboxPoll.String() != "1s" {
		t.Errorf("defaults: %d, %v", d.OutboxMaxAttempts, d.OutboxPoll)
	}
}
