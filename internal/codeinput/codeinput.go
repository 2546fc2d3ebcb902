// Package codeinput reads a code as a person types it — in groups with spaces or dashes, in the
// full-width characters of a Chinese input method, in lower case — for every code the portal asks
// for: verification and assist codes, authenticator app codes and recovery codes. One reading for
// all, so a code typed the same way is read the same way everywhere.
package codeinput

import "strings"

// Digits is the alphabet of numeric codes.
const Digits = "0123456789"

// Normalize returns the code in input: exactly length characters of alphabet (digits and
// upper-case letters), with full-width forms read as ASCII, letters in upper case, and spaces,
// tabs, ideographic spaces and dashes between them dropped. It is false when anything else is in
// input or the number of characters differs.
func Normalize(input, alphabet string, length int) (string, bool) {
	if len(input) > 12*length { // three bytes a full-width character, with room for separators
		return "", false
	}
	var b strings.Builder
	for _, r := range input {
		switch {
		case r >= '！' && r <= '～': // full-width forms of ASCII
			r -= '！' - '!'
		case r == '\u3000': // ideographic space
			r = ' '
		}
		switch {
		case r == ' ' || r == '\t' || r == '-':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != length {
		return "", false
	}
	return b.String(), true
}
