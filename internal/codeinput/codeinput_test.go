package codeinput_test

import (
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/codeinput"
)

const letters = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // the recovery codes' alphabet

func TestNormalize(t *testing.T) {
	cases := []struct {
		in       string
		alphabet string
		n        int
		want     string
		ok       bool
	}{
		{"123456", codeinput.Digits, 6, "123456", true},
		{"123 456", codeinput.Digits, 6, "123456", true},
		{"１２３４５６", codeinput.Digits, 6, "123456", true},
		{"１２３－４５６", codeinput.Digits, 6, "123456", true},
		{"123\t456", codeinput.Digits, 6, "123456", true},
		{"12345", codeinput.Digits, 6, "", false},
		{"12345a", codeinput.Digits, 6, "", false},
		{"١٢٣٤٥٦", codeinput.Digits, 6, "", false}, // other digits are not read as these
		{"1234-5678", codeinput.Digits, 8, "12345678", true},
		{"1234\u30005678", codeinput.Digits, 8, "12345678", true},
		{"7kq2-m9xd-4hnp-wc3r", letters, 16, "7KQ2M9XD4HNPWC3R", true},
		{"７ＫＱ２－ｍ９ｘｄ－４ＨＮＰ－ＷＣ３Ｒ", letters, 16, "7KQ2M9XD4HNPWC3R", true},
		{"0KQ2-M9XD-4HNP-WC3R", letters, 16, "", false},
		{"7KQ2_M9XD_4HNP_WC3R", letters, 16, "", false},
		{"123456\n", codeinput.Digits, 6, "", false},
		{strings.Repeat("-", 100) + "123456", codeinput.Digits, 6, "", false},
		{"", codeinput.Digits, 6, "", false},
	}
	for _, c := range cases {
		got, ok := codeinput.Normalize(c.in, c.alphabet, c.n)
		if got != c.want || ok != c.ok {
			t.Errorf("Normalize(%q, %d) = %q, %v; want %q, %v", c.in, c.n, got, ok, c.want, c.ok)
		}
	}
}

// FuzzNormalize: an accepted code is exactly n characters of the alphabet, the characters typed
// (full-width ones read as ASCII, letters in upper case) in the order typed, with nothing but
// separators dropped; and it is accepted again as itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456", "１２３", "12 34-56", "", "\u3000", "1234-5678", "١٢٣٤٥٦", "12345\x00", "7kq2-m9xd", "ＡＢ－ＣＤ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, alphabet := range []string{codeinput.Digits, letters} {
			for _, n := range []int{6, 8, 16} {
				got, ok := codeinput.Normalize(s, alphabet, n)
				if !ok {
					if got != "" {
						t.Fatalf("%q refused but returned %q", s, got)
					}
					continue
				}
				if len(got) != n || strings.Trim(got, alphabet) != "" {
					t.Fatalf("%q → %q, want %d characters of %q", s, got, n, alphabet)
				}
				var typed []rune
				for _, r := range s {
					if r >= '！' && r <= '～' {
						r -= '！' - '!'
					}
					switch {
					case r == ' ' || r == '\t' || r == '-' || r == '\u3000':
						continue
					case r >= 'a' && r <= 'z':
						r -= 'a' - 'A'
					}
					if !strings.ContainsRune(alphabet, r) {
						t.Fatalf("%q accepted with %q in it", s, r)
					}
					typed = append(typed, r)
				}
				if string(typed) != got {
					t.Fatalf("%q → %q, but the characters typed are %q", s, got, string(typed))
				}
				if again, ok := codeinput.Normalize(got, alphabet, n); !ok || again != got {
					t.Fatalf("%q → %q is not accepted as itself: %q, %v", s, got, again, ok)
				}
			}
		}
	})
}
