package config

import (
	"slices"
	"testing"
)

func TestParse_WebhookSettings(t *testing.T) {
	const secret = "whsec_c21zcmV0aXJlLXdlYmhvb2stdGVzdC1zZWNyZXQtMzI="
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string // nil: refused
	}{
		{"none", nil, nil, []string{}},
		{"two endpoints", map[string]string{"SMSRETIRE_WEBHOOK_SECRET": secret},
			[]string{"--webhook-urls", " https://ops.example.com/hooks/smsretire , http://10.0.0.5:8080/in ,"},
			[]string{"https://ops.example.com/hooks/smsretire", "http://10.0.0.5:8080/in"}},
		{"from the environment", map[string]string{"SMSRETIRE_WEBHOOK_URLS": "https://ops.example.com/h", "SMSRETIRE_WEBHOOK_SECRET": secret},
			nil, []string{"https://ops.example.com/h"}},
		{"without a secret", nil, []string{"--webhook-urls", "https://ops.example.com/h"}, nil},
		{"not http", map[string]string{"SMSRETIRE_WEBHOOK_SECRET": secret}, []string{"--webhook-urls", "ftp://ops.example.com/h"}, nil},
		{"no host", map[string]string{"SMSRETIRE_WEBHOOK_SECRET": secret}, []string{"--webhook-urls", "https:///h"}, nil},
		{"named twice", map[string]string{"SMSRETIRE_WEBHOOK_SECRET": secret}, []string{"--webhook-urls", "https://a.example/h,https://a.example/h"}, nil},
	}
	for _, c := range cases {
		var cfg Config
		_, err := cfg.Parse("t", c.args, func(k string) string { return c.env[k] })
		switch {
		case c.want == nil && err == nil:
			t.Errorf("%s: accepted", c.name)
		case c.want != nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !slices.Equal(append([]string{}, cfg.WebhookURLList()...), c.want):
			t.Errorf("%s: urls = %q, want %q", c.name, cfg.WebhookURLList(), c.want)
		case c.want != nil && len(c.want) > 0 && cfg.WebhookSecret != secret:
			t.Errorf("%s: secret not read from the environment", c.name)
		}
	}
}
