// Package approval describes a sign-in that the user approves on another device where they are
// signed in already: a QR code on a computer scanned with the phone (internal/qrsignin), or a
// request approved on the phone. Both show the approver the same Context — what is asking — so
// that they approve only a computer in front of them.
//
// Neither way is phishing-resistant: someone who relays the QR code or the number to the user
// gets the session if the user approves. They are offered as convenient ways, below passkeys, and
// never count as the factor that completes the retirement of SMS codes.
package approval

import (
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/useragent"
)

// Ways of signing in by approval, as sessions record them (session.Session.Via) and the history
// names them (the method detail of signin.succeeded).
const (
	ViaQR    = "qr"    // a QR code shown on the computer, scanned and approved on a signed-in phone
	ViaPhone = "phone" // a request approved on a signed-in phone, with number matching
)

// AMR is what a sign-in by approval tells services through the OpenID Connect provider's amr
// claim (RFC 8176): "mca", multiple-channel authentication — the computer was let in over a second
// channel, the user's signed-in phone. The phone's own factor is deliberately not passed on: a
// passkey on the phone does not make the computer's sign-in phishing-resistant.
var AMR = []string{"mca"}

// Context is what is asking to be signed in, as the approver sees it: the browser and system of
// the computer (internal/useragent IDs, which pages name in the reader's language with
// i18n.Translator.Device), its IP address, its approximate place when known, and when it asked.
type Context struct {
	Browser string // useragent.Browser ID; "" when not recognised
	System  string // useragent.System ID; "" when not recognised
	IP      string
	Place   string // approximate place (city, region, country) when known; "" otherwise
	At      time.Time
}

// ContextOf is the context of a request that the client c made at at. The portal keeps no
// database of places, so Place stays empty unless the caller knows it (a trusted proxy's header).
func ContextOf(c audit.Client, at time.Time) Context {
	d := useragent.Parse(c.UserAgent)
	return Context{Browser: d.Browser, System: d.System, IP: c.IP, At: at}
}
