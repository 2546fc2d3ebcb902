package passkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backed up
	flagAT = 0x40 // attested credential data included
)

// softAuth is a software authenticator and browser in one: it answers the options the service
// gives as a platform authenticator would, with a P-256 key, "none" attestation and a sign count.
type softAuth struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	credID  []byte
	aaguid  []byte
	rpID    string
	origin  string
	flags   byte   // flags beyond UP/AT, such as UV, BE and BS
	count   uint32 // the sign count the next answer carries
	handle  []byte // the user handle stored at registration
	excused bool   // ignore excludeCredentials (to test the service's own duplicate check)
}

func newSoftAuth(t *testing.T, rpID, origin string) *softAuth {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &softAuth{t: t, key: key, credID: make([]byte, 32), aaguid: make([]byte, 16), rpID: rpID, origin: origin, flags: flagUV | flagBE | flagBS}
	rand.Read(a.credID)
	rand.Read(a.aaguid)
	return a
}

// wireOptions is the part of a BeginRegistration or BeginLogin reply the authenticator reads.
type wireOptions struct {
	Ceremony  string `json:"ceremony"`
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		ExcludeCredentials []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"excludeCredentials"`
		AllowCredentials       []json.RawMessage `json:"allowCredentials"`
		AuthenticatorSelection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey *bool  `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		UserVerification string `json:"userVerification"`
		Attestation      string `json:"attestation"`
		Timeout          int    `json:"timeout"`
	} `json:"publicKey"`
}

func parseOptions(t *testing.T, raw []byte) wireOptions {
	t.Helper()
	var o wireOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options %s: %v", raw, err)
	}
	return o
}

var b64 = base64.RawURLEncoding

func (a *softAuth) clientData(typ, challenge string) []byte {
	cd, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	if err != nil {
		a.t.Fatal(err)
	}
	return cd
}

func (a *softAuth) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	out := append(rp[:], flags|flagUP)
	out = binary.BigEndian.AppendUint32(out, a.count)
	return append(out, attested...)
}

// ctap2 encodes CBOR as authenticators do: canonical, map keys sorted.
var ctap2, _ = cbor.CTAP2EncOptions().EncMode()

// coseKey is the credential public key as COSE_Key: EC2, ES256, P-256.
func (a *softAuth) coseKey() []byte {
	pt, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		a.t.Fatal(err)
	}
	k, err := ctap2.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
	if err != nil {
		a.t.Fatal(err)
	}
	return k
}

// create answers creation options with a new credential and a "none" attestation, as the JSON a
// browser's credential.toJSON() gives.
func (a *softAuth) create(optionsJSON []byte) []byte {
	a.t.Helper()
	o := parseOptions(a.t, optionsJSON)
	if !a.excused {
		for _, ex := range o.PublicKey.ExcludeCredentials {
			if ex.ID == b64.EncodeToString(a.credID) {
				a.t.Fatalf("authenticator is excluded: it already holds a passkey of this account")
			}
		}
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		a.t.Fatalf("user.id %q: %v", o.PublicKey.User.ID, err)
	}
	a.handle = handle
	attested := append([]byte{}, a.aaguid...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.credID)))
	attested = append(attested, a.credID...)
	attested = append(attested, a.coseKey()...)
	obj, err := ctap2.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(a.flags|flagAT, attested)})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj),
			"transports":        []string{"internal", "hybrid"},
		},
	})
}

// get answers request options with an assertion signed by the credential's key.
func (a *softAuth) get(optionsJSON []byte) []byte {
	a.t.Helper()
	o := parseOptions(a.t, optionsJSON)
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	ad := a.authData(a.flags, nil)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return a.marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.handle),
		},
	})
}

func (a *softAuth) marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}
