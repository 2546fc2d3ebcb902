package config

import (
	"slices"
	"strings"
	"testing"
)

func TestRelyingParty_DefaultsFromBaseURL(t *testing.T) {
	cases := []struct {
		base, rpID, origins string
	}{
		{"https://Portal.Example.cn/", "portal.example.cn", "https://portal.example.cn"},
		{"https://portal.example.cn:8443", "portal.example.cn", "https://portal.example.cn:8443"},
		{"http://127.0.0.1:8080", "localhost", "http://localhost:8080"},
		{"http://[::1]:8080", "localhost", "http://localhost:8080"},
		{"http://localhost:9000", "localhost", "http://localhost:9000"},
	}
	for _, tc := range cases {
		c := Default()
		c.BaseURL, c.ServiceName = tc.base, "Example Portal"
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", tc.base, err)
			continue
		}
		if c.RPID != tc.rpID || c.RPOrigins != tc.origins || c.RPName != "Example Portal" {
			t.Errorf("%s: rp-id %q, rp-origins %q, rp-name %q; want %q, %q", tc.base, c.RPID, c.RPOrigins, c.RPName, tc.rpID, tc.origins)
		}
	}
}

func TestRelyingParty_GivenValuesAreCheckedAndCanonical(t *testing.T) {
	env := map[string]string{
		"SMSRETIRE_BASE_URL":   "https://portal.example.cn",
		"SMSRETIRE_RP_ID":      "Example.cn",
		"SMSRETIRE_RP_ORIGINS": "https://portal.example.cn:443, https://m.example.cn/ ,https://example.cn:8443",
		"SMSRETIRE_RP_NAME":    "短信退役",
	}
	var c Config
	if _, err := c.Parse("t", nil, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://portal.example.cn", "https://m.example.cn", "https://example.cn:8443"}
	if c.RPID != "example.cn" || !slices.Equal(c.RPOriginList(), want) || c.RPName != "短信退役" {
		t.Errorf("rp-id %q, origins %q, name %q", c.RPID, c.RPOriginList(), c.RPName)
	}
	// Validating again changes nothing.
	if err := c.Validate(); err != nil || !slices.Equal(c.RPOriginList(), want) {
		t.Errorf("second Validate: %v, %q", err, c.RPOriginList())
	}
}

func TestRelyingParty_RefusesWhatBrowsersRefuse(t *testing.T) {
	cases := []struct {
		name, base, rpID, origins, wantErr string
	}{
		{"IP base URL without rp-id", "http://10.0.0.5:8080", "", "", "IP address"},
		{"IP rp-id", "https://portal.example.cn", "10.0.0.5", "", "rp-id"},
		{"rp-id with port", "https://portal.example.cn", "portal.example.cn:443", "", "rp-id"},
		{"rp-id with scheme", "https://portal.example.cn", "https://portal.example.cn", "", "rp-id"},
		{"origin on another domain", "https://portal.example.cn", "", "https://evil.example.com", "neither"},
		{"origin that only ends like rp-id", "https://example.cn", "", "https://notexample.cn", "neither"},
		{"origin with a path", "https://portal.example.cn", "", "https://portal.example.cn/app", "not an origin"},
		{"origin without scheme", "https://portal.example.cn", "", "portal.example.cn", "not an origin"},
		{"origin of another scheme", "https://portal.example.cn", "", "ftp://portal.example.cn", "not an origin"},
		{"rp-id not a suffix of base", "https://portal.example.cn", "other.cn", "", "neither"},
		{"only commas", "https://portal.example.cn", "", " , ", "at least one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.BaseURL, c.RPID, c.RPOrigins = tc.base, tc.rpID, tc.origins
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate() = %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}
