package passkey

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// aaguidsJSON names the passkey providers the portal recognises: a data file of public facts,
// each entry with the source it was taken from.
//
//go:embed aaguids.json
var aaguidsJSON []byte

// maxProviderName bounds a provider name from the data file, in characters.
const maxProviderName = 64

// Provider is one entry of a providers data file: an authenticator model's AAGUID, the name
// people know it by, and the public source of the pairing.
type Provider struct {
	AAGUID string `json:"aaguid"` // canonical lowercase UUID, such as "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Providers names the maker of a passkey from the AAGUID its authenticator reported, so a person
// can tell "Google Password Manager" from "iCloud Keychain" on My security. The nil *Providers
// knows no provider.
type Providers struct {
	names map[[16]byte]string
}

// providersFile is the layout of a providers data file.
type providersFile struct {
	About     string     `json:"about"`
	Providers []Provider `json:"providers"`
}

// LoadProviders reads a providers data file: {"about": text, "providers": [Provider…]}. Every
// entry needs a canonical lowercase UUID, a name and a source, and no AAGUID may appear twice.
func LoadProviders(r io.Reader) (*Providers, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var file providersFile
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("load passkey providers: %w", err)
	}
	if dec.More() {
		return nil, errors.New("load passkey providers: data after the file's object")
	}
	p := &Providers{names: make(map[[16]byte]string, len(file.Providers))}
	for i, e := range file.Providers {
		id, err := parseAAGUID(e.AAGUID)
		if err != nil {
			return nil, fmt.Errorf("load passkey providers: entry %d: %w", i+1, err)
		}
		if err := checkProviderName(e.Name); err != nil {
			return nil, fmt.Errorf("load passkey providers: entry %d (%s): %w", i+1, e.AAGUID, err)
		}
		if strings.TrimSpace(e.Source) == "" {
			return nil, fmt.Errorf("load passkey providers: entry %d (%s): no source", i+1, e.AAGUID)
		}
		if _, dup := p.names[id]; dup {
			return nil, fmt.Errorf("load passkey providers: entry %d: AAGUID %s listed twice", i+1, e.AAGUID)
		}
		p.names[id] = e.Name
	}
	return p, nil
}

// defaultProviders parses the embedded data file once.
var defaultProviders = sync.OnceValues(func() (*Providers, error) {
	return LoadProviders(bytes.NewReader(aaguidsJSON))
})

// DefaultProviders returns the providers of the data file built into the portal. The file is
// checked by the package's tests, so one that does not load is a build defect and panics.
func DefaultProviders() *Providers {
	p, err := defaultProviders()
	if err != nil {
		panic(err)
	}
	return p
}

// Name returns the provider name for a 16-byte AAGUID, and false when the AAGUID is unknown or
// malformed.
func (p *Providers) Name(aaguid []byte) (string, bool) {
	if p == nil || len(aaguid) != 16 {
		return "", false
	}
	name, ok := p.names[[16]byte(aaguid)]
	return name, ok
}

// Len reports how many AAGUIDs are known.
func (p *Providers) Len() int {
	if p == nil {
		return 0
	}
	return len(p.names)
}

// parseAAGUID reads a canonical lowercase UUID: 8-4-4-4-12 hexadecimal digits.
func parseAAGUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("AAGUID %q is not a UUID like 01234567-89ab-cdef-0123-456789abcdef", s)
	}
	if s != strings.ToLower(s) {
		return id, fmt.Errorf("AAGUID %q is not lowercase", s)
	}
	digits := strings.ReplaceAll(s, "-", "")
	if len(digits) != 32 {
		return id, fmt.Errorf("AAGUID %q is not a UUID like 01234567-89ab-cdef-0123-456789abcdef", s)
	}
	if _, err := hex.Decode(id[:], []byte(digits)); err != nil {
		return id, fmt.Errorf("AAGUID %q: %w", s, err)
	}
	return id, nil
}

// checkProviderName refuses names that are empty, padded, too long or hold control characters.
func checkProviderName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("no name")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("name %q has spaces around it", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("name %q is not UTF-8", name)
	case utf8.RuneCountInString(name) > maxProviderName:
		return fmt.Errorf("name %q is longer than %d characters", name, maxProviderName)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }):
		return fmt.Errorf("name %q holds control characters", name)
	}
	return nil
}
