package passkey

import (
	"strings"
	"unicode"
)

// MaxNameLen is the longest passkey name kept, in characters.
const MaxNameLen = 64

// fallbackName names a passkey whose name is empty once cleaned (the portal offers one in the
// page's language first).
const fallbackName = "Passkey"

// CleanName makes what a user typed into a passkey name: control and format characters (such as
// bidirectional overrides, but not the joiners emoji need) become spaces, runs
// of space collapse, and it is cut to MaxNameLen characters; "Passkey" when nothing is left. It
// never refuses, since the authenticator has already made the passkey when the name arrives.
func CleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || (unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d') {
			return ' '
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	if r := []rune(name); len(r) > MaxNameLen {
		name = strings.TrimSpace(string(r[:MaxNameLen]))
	}
	if name == "" {
		return fallbackName
	}
	return name
}
