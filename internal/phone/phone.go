// Package phone normalises and masks phone numbers.
package phone

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a country code.
const DefaultRegion = "CN"

// ErrInvalid reports a string that is not a valid phone number.
var ErrInvalid = errors.New("invalid phone number")

// Normalize parses a phone number in any common format (+86, spaces, dashes, brackets) and returns
// it in E.164 form. Numbers without a country code are read in region.
func Normalize(raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 64 {
		return "", ErrInvalid
	}
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", ErrInvalid
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalid
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// LooksLikePhone reports whether s is more likely a phone number than an account ID: it holds
// mostly digits and phone punctuation.
func LooksLikePhone(s string) bool {
	s = strings.TrimSpace(s)
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digits >= 7
}

// Mask hides the middle of a number, as Chinese services do: +8613812345678 becomes 138****5678.
// The country code is shown for numbers outside mainland China.
func Mask(e164 string) string {
	national := e164
	prefix := ""
	if rest, ok := strings.CutPrefix(e164, "+86"); ok && len(rest) == 11 && rest[0] == '1' && allDigits(rest) {
		national = rest // a mainland mobile number, the common case: no parse needed (most of Mask's time)
	} else if num, err := phonenumbers.Parse(e164, DefaultRegion); err == nil {
		national = phonenumbers.GetNationalSignificantNumber(num)
		if num.GetCountryCode() != 86 {
			prefix = "+" + itoa(int(num.GetCountryCode())) + " "
		}
	}
	if len(national) <= 4 {
		return prefix + strings.Repeat("*", len(national))
	}
	keepStart := 3
	if len(national) < 9 {
		keepStart = 2
	}
	stars := len(national) - keepStart - 4
	if stars < 1 {
		stars = 1
		keepStart = len(national) - 5
	}
	return prefix + national[:keepStart] + strings.Repeat("*", stars) + national[len(national)-4:]
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
