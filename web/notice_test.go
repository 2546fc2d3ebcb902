package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/internal/identity"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/web/webtest"
)

// notices counts the security notices queued for a user, by change.
func notices(t *testing.T, st *store.SQL, userID string) map[string]int {
	t.Helper()
	items, err := st.RecentOutbox(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, it := range items {
		if it.UserID != userID || it.Topic != "security.notice" {
			continue
		}
		var p struct {
			To   string            `json:"to"`
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out[p.Data["change"]]++
		if p.Data["browser"] == "" && p.Data["system"] == "" && p.Data["ip"] == "" {
			t.Errorf("notice without device or IP: %s", it.Payload)
		}
	}
	return out
}

func serverWithCodes(t *testing.T, mod func(*config.Config)) (*webtest.Server, func() string) {
	var codes []string
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) {
		c.MinSendTime = 0
		if mod != nil {
			mod(c)
		}
	}), webtest.WithParts(func(p *app.Parts) {
		p.CodeMessages = func(u campaign.User, m identity.Message) (store.OutboxItem, error) {
			codes = append(codes, m.Code)
			return identity.CodeMessage(u, m)
		}
	}))
	return srv, func() string { return codes[len(codes)-1] }
}

func addEmailFactor(t *testing.T, srv *webtest.Server, c *http.Client, lastCode func() string, address string) {
	t.Helper()
	if r := srv.PostForm(t, c, "/enroll/email", url.Values{"email": {address}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d %s", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
	if r := srv.PostForm(t, c, "/enroll/email/confirm", url.Values{"code": {lastCode()}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Doc.Find("#error-summary").Text())
	}
}

func TestNotices_ExactlyOnePerChangeToTheRegisteredEmail(t *testing.T) {
	srv, lastCode := serverWithCodes(t, nil)
	ctx := context.Background()
	secret := enrolledTOTP(t, srv, "demo-zh")
	if n := notices(t, srv.Store, "demo-zh"); len(n) != 0 {
		t.Fatalf("the first factor's confirmation email is its notice; notices = %v", n)
	}
	c := signIn(t, srv, "demo-zh", secret) // a browser the user has not used before
	if n := notices(t, srv.Store, "demo-zh"); n["signin.new_device"] != 1 || len(n) != 1 {
		t.Fatalf("after signing in on a new device: %v", n)
	}
	srv.Clock.Advance(61 * time.Second)
	addEmailFactor(t, srv, c, lastCode, "second@example.com")
	if n := notices(t, srv.Store, "demo-zh"); n["factor.added"] != 1 || len(n) != 2 {
		t.Fatalf("after adding: %v", n)
	}
	fs, _ := srv.Store.Factors(ctx, "demo-zh")
	var email store.Factor
	for _, f := range fs {
		if f.Kind == store.FactorEmail {
			email = f
		}
	}
	r := srv.PostForm(t, c, "/security/factors/"+itoa(email.ID)+"/remove", url.Values{"confirm": {email.Name}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if page := srv.Get(t, c, "/security", nil); page.Doc.Find("form.end-others p").Length() != 1 {
		t.Error("after removing a factor, My security does not offer to sign out everywhere else")
	}
	if r := srv.PostForm(t, c, "/security/recovery/regenerate", nil, nil); r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("regenerate → %s", r.Header.Get("Location"))
	}
	code := srv.Get(t, c, "/enroll/recovery", nil).Doc.Find(".recovery-codes code").First().Text()
	if r := srv.PostForm(t, srv.Client(), "/signin/recovery", url.Values{"account": {"demo-zh"}, "code": {code}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("recovery sign-in: %d", r.StatusCode)
	}
	// The recovery code signed in on yet another new browser.
	want := map[string]int{"factor.added": 1, "factor.removed": 1, "recovery.regenerated": 1, "recovery.used": 1, "signin.new_device": 2}
	got := notices(t, srv.Store, "demo-zh")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("notices[%s] = %d, want %d (%v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("notices = %v", got)
	}
}

func TestEmailPolicy_RecoveryOnlyDoesNotRetireWithEmailAlone(t *testing.T) {
	srv, lastCode := serverWithCodes(t, func(c *config.Config) { c.EmailFactor = "recovery-only" })
	ctx := context.Background()
	c := verifiedClient(t, srv, "demo-en")
	if !strings.Contains(srv.Get(t, c, "/enroll", nil).Doc.Find(".options").Text(), "extra method") {
		t.Error("the choice page does not say email is only an extra method")
	}
	addEmailFactor(t, srv, c, lastCode, "alex@example.com")
	u, _ := srv.Store.UserByID(ctx, "demo-en")
	if u.State == campaign.StateRetired || !u.SMSRetiredAt.IsZero() {
		t.Fatalf("email alone retired SMS under recovery-only: %+v", u)
	}
	if n, _ := srv.Store.RecoveryCodesLeft(ctx, "demo-en"); n != 0 {
		t.Fatalf("recovery codes = %d before retirement", n)
	}
	secret := secretFrom(t, srv.Get(t, c, "/enroll/totp", nil))
	code, _ := totp.CodeAt(secret, srv.Clock.Now())
	if r := srv.PostForm(t, c, "/enroll/totp", url.Values{"code": {code}}, nil); r.Header.Get("Location") != "/enroll/recovery" {
		t.Fatalf("app after email → %s", r.Header.Get("Location"))
	}
	if u, _ := srv.Store.UserByID(ctx, "demo-en"); u.State != campaign.StateRetired {
		t.Fatalf("state = %s after the app", u.State)
	}
}

func TestEmailPolicy_OffHidesAndRefusesEmail(t *testing.T) {
	srv, _ := serverWithCodes(t, func(c *config.Config) { c.EmailFactor = "off" })
	c := verifiedClient(t, srv, "demo-en")
	if n := srv.Get(t, c, "/enroll", nil).Doc.Find(".option").Length(); n != 2 {
		t.Fatalf("options = %d, want 2", n)
	}
	if r := srv.Get(t, c, "/enroll/email", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("/enroll/email: %d", r.StatusCode)
	}
}

func TestCheckup_ReminderFallsDueAndSigningInClearsIt(t *testing.T) {
	srv := fastServer(t)
	ctx := context.Background()
	secret := enrolledTOTP(t, srv, "demo-zh")
	due, err := srv.Store.ClaimOutbox(ctx, store.OutboxClaim{Now: srv.Clock.Now().Add(27 * 24 * time.Hour), Limit: 100, Lease: time.Minute, Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range due {
		if it.Topic == "checkup.reminder" {
			t.Fatal("the check-up reminder is due before 28 days")
		}
	}
	later, _ := srv.Store.ClaimOutbox(ctx, store.OutboxClaim{Now: srv.Clock.Now().Add(28*24*time.Hour + time.Minute), Limit: 100, Lease: time.Minute, Owner: "test"})
	found := 0
	for _, it := range later {
		if it.Topic == "checkup.reminder" {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("check-up reminders due after 28 days = %d", found)
	}
	srv.Clock.Advance(28*24*time.Hour + time.Hour)
	signIn(t, srv, "demo-zh", secret)
	evs, _ := srv.Store.Events(ctx, "demo-zh", 50)
	completed := 0
	for _, e := range evs {
		if e.Type == "checkup.completed" {
			completed++
		}
	}
	if completed != 1 {
		t.Fatalf("checkup.completed events = %d", completed)
	}
	signIn(t, srv, "demo-zh", secret)
	if again, _ := srv.Store.CompleteCheckup(ctx, "demo-zh", srv.Clock.Now()); again {
		t.Fatal("check-up still due after signing in")
	}
}
