package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeOIDCFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "smsretire.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const shopClient = `
[[client]]
id = "shop"
name = "示例商城"
name_en = "Example Shop"
secret_env = "SHOP_SECRET"
redirect_uris = ["https://shop.example.com/callback"]
post_logout_redirect_uris = ["https://shop.example.com/"]
scopes = ["profile", "email"]
`

func TestParse_ReadsTheConfigFile(t *testing.T) {
	pem := filepath.Join(t.TempDir(), "k.pem")
	os.WriteFile(pem, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600)
	path := writeOIDCFile(t, shopClient+`
[[client]]
id = "app"
name = "手机应用"
public = true
redirect_uris = ["http://127.0.0.1:9000/cb"]
require_phishing_resistant = true

[oidc]
id_token_lifetime = "10m"
remind_later = 0

[[oidc.signing_key]]
id = "2026-11"
file = "`+pem+`"

[[oidc.signing_key]]
id = "2026-05"
pem_env = "OLD_KEY"
`)
	env := map[string]string{"SHOP_SECRET": strings.Repeat("s", 40), "OLD_KEY": "old pem"}
	var c Config
	if _, err := c.Parse("t", []string{"--config-file", path}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	shop, ok := c.ClientByID("shop")
	if !ok || shop.Secret != env["SHOP_SECRET"] || shop.DisplayName("en") != "Example Shop" || shop.DisplayName("zh-Hans") != "示例商城" {
		t.Errorf("shop = %+v", shop)
	}
	if strings.Join(shop.Scopes, " ") != "openid profile email" {
		t.Errorf("shop scopes = %v, want openid added to the listed ones", shop.Scopes)
	}
	app, _ := c.ClientByID("app")
	if !app.Public || !app.RequirePhishingResistant || len(app.Scopes) != 4 {
		t.Errorf("app = %+v", app)
	}
	o := c.OIDC
	if o.IDTokenLifetime != 10*time.Minute || o.CodeLifetime != DefaultCodeLifetime || *o.RemindLater != 0 {
		t.Errorf("oidc = %+v", o)
	}
	if len(o.SigningKeys) != 2 || o.SigningKeys[0].PEM != "-----BEGIN PRIVATE KEY-----\n" || o.SigningKeys[1].PEM != "old pem" {
		t.Errorf("signing keys = %+v", o.SigningKeys)
	}
}

func TestParse_RefusesABadConfigFile(t *testing.T) {
	env := map[string]string{"SHOP_SECRET": strings.Repeat("s", 40)}
	cases := map[string]struct{ text, want string }{
		"unknown key":         {shopClient + "colour = \"blue\"\n", "unknown keys: client.colour"},
		"misspelt section":    {"[[clients]]\nid = \"x\"\n", "unknown keys: clients"},
		"empty env":           {strings.Replace(shopClient, "SHOP_SECRET", "NOT_SET", 1), "NOT_SET is empty"},
		"short secret":        {strings.Replace(shopClient, `secret_env = "SHOP_SECRET"`, `secret = "short"`, 1), "at least 32 characters"},
		"public with secret":  {shopClient + "public = true\n", "a public client has no secret"},
		"no redirect":         {strings.Replace(shopClient, `redirect_uris = ["https://shop.example.com/callback"]`, "", 1), "at least one is required"},
		"http redirect":       {strings.Replace(shopClient, "https://shop.example.com/callback", "http://shop.example.com/callback", 1), "http is allowed only on localhost"},
		"fragment":            {strings.Replace(shopClient, "https://shop.example.com/callback", "https://shop.example.com/cb#x", 1), "without a fragment"},
		"unknown scope":       {strings.Replace(shopClient, `"profile", "email"`, `"address"`, 1), `"address" is not one of`},
		"twice":               {shopClient + shopClient, "named twice"},
		"no name":             {strings.Replace(shopClient, `name = "示例商城"`, "", 1), "name (the display name users see) is required"},
		"key without pem":     {"[[oidc.signing_key]]\nid = \"k1\"\n", "set file or pem_env"},
		"long code lifetime":  {"[oidc]\ncode_lifetime = \"1h\"\n", "at most 10m"},
		"negative reminders":  {"[oidc]\nremind_later = -1\n", "must not be negative"},
		"duration not parsed": {"[oidc]\nid_token_lifetime = \"soon\"\n", "soon"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var c Config
			_, err := c.Parse("t", []string{"--config-file", writeOIDCFile(t, tc.text)}, func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}
