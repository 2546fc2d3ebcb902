package demo

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/smsretire/smsretire/internal/config"
)

// ConfigFileName is the demo's configuration file in --data-dir: the sections `serve --demo` adds
// to the operator's configuration (see config.AddDemoFile), generated once like the development
// keys, with secrets of its own.
const ConfigFileName = "demo.toml"

// ShopClientID is the example service's client_id (examples/shop).
const ShopClientID = "example-shop"

// PartnerID is the demo partner site's [[partner]] id (examples/partnersite).
const PartnerID = "demo-partner"

// demoFile is what the demo configuration file holds.
type demoFile struct {
	Clients  []config.Client       `toml:"client"`
	Partners []config.PartnerEntry `toml:"partner"`
}

// ConfigFile writes the demo's configuration file into dataDir, if it is not there or names the
// example service or the partner site at another address, and returns its path. The example
// service, "示例商城 / Example Shop" at shopURL, is registered as an OpenID Connect client, and
// the demo partner site, "示例合作方 / Example Partner" at partnerURL, as a [[partner]] trusted to
// have verified its users, each with a random secret, which stays the same across restarts. The
// file is written whole under a temporary name and renamed into place, so a reader never sees
// half of it.
func ConfigFile(dataDir, shopURL, partnerURL string) (string, error) {
	path := filepath.Join(dataDir, ConfigFileName)
	var f demoFile
	secret, partnerSecret := "", ""
	if b, err := os.ReadFile(path); err == nil {
		if _, err := toml.Decode(string(b), &f); err != nil {
			return "", fmt.Errorf("read %s: %w (delete it to have it made again)", path, err)
		}
		for _, c := range f.Clients {
			if c.ID == ShopClientID {
				secret = c.Secret
			}
		}
		for _, p := range f.Partners {
			if p.ID == PartnerID {
				partnerSecret = p.HMACSecret
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	want, partner := shopClient(shopURL, secret), demoPartner(partnerURL, partnerSecret)
	if len(f.Clients) == 1 && secret != "" && f.Clients[0].RedirectURIs[0] == want.RedirectURIs[0] &&
		len(f.Partners) == 1 && partnerSecret != "" && len(f.Partners[0].Origins) == 1 && f.Partners[0].Origins[0] == partnerURL {
		return path, nil
	}
	for _, s := range []*string{&want.Secret, &partner.HMACSecret} {
		if *s == "" {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return "", fmt.Errorf("demo secret: %w", err)
			}
			*s = base64.RawURLEncoding.EncodeToString(b)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Made by `smsretire serve --demo`: the demo's example service and partner site, added to the\n" +
		"# configuration. Delete this file to have it made again with new secrets.\n\n")
	if err := toml.NewEncoder(&buf).Encode(demoFile{Clients: []config.Client{want}, Partners: []config.PartnerEntry{partner}}); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, ".demo-*.toml")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

func shopClient(shopURL, secret string) config.Client {
	return config.Client{
		ID: ShopClientID, Name: "示例商城", NameEN: "Example Shop", Secret: secret,
		RedirectURIs:           []string{shopURL + "/callback"},
		PostLogoutRedirectURIs: []string{shopURL + "/"},
		Scopes:                 []string{"openid", "profile", "email"},
	}
}

// demoPartner is the demo partner site at partnerURL: it signs launches with HS256 under secret
// and is trusted to have verified its users.
func demoPartner(partnerURL, secret string) config.PartnerEntry {
	return config.PartnerEntry{ID: PartnerID, Name: "示例合作方 Example Partner", Origins: []string{partnerURL}, HMACSecret: secret,
		VerifiesIdentity: true, Color: "#17a673"}
}
