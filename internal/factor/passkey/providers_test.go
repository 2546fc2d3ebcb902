package passkey_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/factor/passkey"
)

func aaguid(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad test AAGUID %q", s)
	}
	return b
}

// TestDefaultProviders_DataFileIsSound checks the file built into the portal: it loads (so every
// entry has a canonical UUID, a name and a source, with no AAGUID twice), every source is a public
// https address, no entry claims the all-zero AAGUID that authenticators send when they say
// nothing, and what is embedded is the file in the repository.
func TestDefaultProviders_DataFileIsSound(t *testing.T) {
	raw, err := os.ReadFile("aaguids.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passkey.LoadProviders(bytes.NewReader(raw)); err != nil {
		t.Fatalf("aaguids.json: %v", err)
	}
	var file struct {
		Providers []passkey.Provider `json:"providers"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Providers) < 10 {
		t.Fatalf("only %d providers", len(file.Providers))
	}
	for _, p := range file.Providers {
		if !strings.HasPrefix(p.Source, "https://") {
			t.Errorf("%s (%s): source %q is not a public https address", p.AAGUID, p.Name, p.Source)
		}
		if p.AAGUID == "00000000-0000-0000-0000-000000000000" {
			t.Errorf("%s claims the all-zero AAGUID", p.Name)
		}
	}
	def := passkey.DefaultProviders()
	if def.Len() != len(file.Providers) {
		t.Errorf("embedded file has %d providers, aaguids.json %d", def.Len(), len(file.Providers))
	}
	for _, p := range file.Providers {
		if got, ok := def.Name(aaguid(t, p.AAGUID)); !ok || got != p.Name {
			t.Errorf("Name(%s) = %q, %v; want %q", p.AAGUID, got, ok, p.Name)
		}
	}
}

func TestProviders_Name(t *testing.T) {
	p, err := passkey.LoadProviders(strings.NewReader(`{"about": "test", "providers": [
		{"aaguid": "0a0b0c0d-0e0f-1011-1213-1415161718ff", "name": "Test Vault", "source": "https://example.test/list"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	known := aaguid(t, "0a0b0c0d-0e0f-1011-1213-1415161718ff")
	for _, tc := range []struct {
		name   string
		p      *passkey.Providers
		aaguid []byte
		want   string
		ok     bool
	}{
		{"known", p, known, "Test Vault", true},
		{"unknown", p, aaguid(t, "0a0b0c0d-0e0f-1011-1213-141516171800"), "", false},
		{"all zero", p, make([]byte, 16), "", false},
		{"none stored", p, nil, "", false},
		{"too short", p, known[:15], "", false},
		{"too long", p, append(append([]byte{}, known...), 0), "", false},
		{"no providers", nil, known, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := tc.p.Name(tc.aaguid); got != tc.want || ok != tc.ok {
				t.Errorf("Name = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLoadProviders_RefusesABadFile(t *testing.T) {
	entry := func(aaguid, name, source string) string {
		b, _ := json.Marshal(passkey.Provider{AAGUID: aaguid, Name: name, Source: source})
		return string(b)
	}
	const id, src = "0a0b0c0d-0e0f-1011-1213-1415161718ff", "https://example.test/list"
	for name, body := range map[string]string{
		"not JSON":            `[`,
		"a bare list":         `[` + entry(id, "Vault", src) + `]`,
		"unknown field":       `{"providers": [{"aaguid": "` + id + `", "name": "Vault", "source": "x", "icon": "y"}]}`,
		"trailing data":       `{"providers": []} {}`,
		"uppercase":           `{"providers": [` + entry(strings.ToUpper(id), "Vault", src) + `]}`,
		"no dashes":           `{"providers": [` + entry(strings.ReplaceAll(id, "-", ""), "Vault", src) + `]}`,
		"dash misplaced":      `{"providers": [` + entry("0a0b0c0d0-e0f-1011-1213-1415161718ff", "Vault", src) + `]}`,
		"not hex":             `{"providers": [` + entry("0a0b0c0d-0e0f-1011-1213-1415161718fg", "Vault", src) + `]}`,
		"braces":              `{"providers": [` + entry("{"+id[:34]+"}", "Vault", src) + `]}`,
		"no name":             `{"providers": [` + entry(id, "", src) + `]}`,
		"blank name":          `{"providers": [` + entry(id, "   ", src) + `]}`,
		"padded name":         `{"providers": [` + entry(id, " Vault", src) + `]}`,
		"control in name":     `{"providers": [` + entry(id, "Va\u0007ult", src) + `]}`,
		"bidi in name":        `{"providers": [` + entry(id, "Va\u202eult", src) + `]}`,
		"name too long":       `{"providers": [` + entry(id, strings.Repeat("v", 65), src) + `]}`,
		"no source":           `{"providers": [` + entry(id, "Vault", "") + `]}`,
		"AAGUID listed twice": `{"providers": [` + entry(id, "Vault", src) + `,` + entry(id, "Other", src) + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := passkey.LoadProviders(strings.NewReader(body)); err == nil {
				t.Errorf("loaded %d providers from %s", p.Len(), body)
			}
		})
	}
	// The same entries, well formed, load.
	ok := `{"providers": [` + entry(id, "Vault", src) + `,` + entry("0a0b0c0d-0e0f-1011-1213-141516171800", "Other", src) + `]}`
	if p, err := passkey.LoadProviders(strings.NewReader(ok)); err != nil || p.Len() != 2 {
		t.Fatalf("well-formed file: %v", err)
	}
}
