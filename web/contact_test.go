package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/web/webtest"
)

// A user without an email address gets the retirement confirmation, the new-device notice and the
// check-up by text message, in their language, with no code and no link; My security says so, and
// the portal asks for the check-up on the next visit of a browser they used.
func TestNotices_BySMSForUsersWithoutEmail(t *testing.T) {
	for _, tc := range []struct {
		user, lang, phone           string
		newDevice, retired, checkup string // words each text message must have, in the language
	}{
		{"demo-soon", i18n.Chinese, "+8613800138004", "新设备", "停用短信验证码", "满4周"},
		{"no-email-en", i18n.English, "+8613900139001", "new sign-in", "SMS codes are now off", "4 weeks ago"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			srv := fastServer(t)
			ctx := context.Background()
			entry := campaign.RosterEntry{ID: "no-email-en", Phone: "+8613900139001", Locale: "en", Deadline: campaign.DateOf(srv.Clock.Now().AddDate(0, 0, 30), srv.Config.Location())}
			if _, err := srv.Store.UpsertUsers(ctx, []campaign.RosterEntry{entry}, srv.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			tr := srv.Catalog.For(tc.lang)
			texts := func() []string {
				srv.Deliver(t)
				var out []string
				for _, m := range srv.Devbox.For(tc.phone) {
					out = append(out, m.Text)
				}
				return out
			}
			// Verify and set up an app in one browser: the confirmation goes by SMS.
			secret := enrolledTOTP(t, srv, tc.user)
			got := texts()
			if len(got) != 1 || !strings.Contains(got[0], tc.retired) {
				t.Fatalf("texts after the retirement = %q, want the confirmation", got)
			}
			// A sign-in from another browser: a notice by SMS.
			c := signIn(t, srv, tc.user, secret)
			got = texts()
			if len(got) != 2 || !strings.Contains(got[0], tc.newDevice) {
				t.Fatalf("texts after a sign-in on a new device = %q", got)
			}
			for _, text := range got {
				if !strings.Contains(text, srv.Config.SupportPhone) || strings.Contains(text, "http") || webtest.CodeIn(text) != "" {
					t.Errorf("an informational text should name support and carry no link or code: %q", text)
				}
			}
			// My security says where notices go.
			page := srv.Get(t, c, "/security", cookieLang(tc.lang))
			if got, want := strings.TrimSpace(page.Doc.Find(".notices-to").Text()), tr.Tf("contact.notices.sms", map[string]any{"To": phone.Mask(tc.phone)}); got != want {
				t.Errorf("where notices go: %q, want %q", got, want)
			}
			// Four weeks on, the check-up by SMS, and a prompt on the home page of that browser only.
			srv.Clock.Advance(28*24*time.Hour + time.Minute)
			got = texts()
			if len(got) != 3 || !strings.Contains(got[0], tc.checkup) {
				t.Fatalf("texts at the check-up = %q", got)
			}
			if home := srv.Get(t, c, "/", cookieLang(tc.lang)); strings.TrimSpace(home.Doc.Find(".checkup-prompt h2").Text()) != tr.T("checkup.prompt.title") {
				t.Errorf("the home page of the user's browser does not ask for the check-up")
			}
			if home := srv.Get(t, srv.Client(), "/", cookieLang(tc.lang)); home.Doc.Find(".checkup-prompt").Length() != 0 {
				t.Error("a stranger's browser is asked for the check-up")
			}
			signIn(t, srv, tc.user, secret) // a new device again: the check-up is done
			if home := srv.Get(t, c, "/", cookieLang(tc.lang)); home.Doc.Find(".checkup-prompt").Length() != 0 {
				t.Error("still asked for the check-up after signing in")
			}
		})
	}
}

func TestContact_StepUpValidationAndRefusalsInBothLanguages(t *testing.T) {
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			srv := fastServer(t)
			tr := srv.Catalog.For(lang)
			h := cookieLang(lang)
			secret := enrolledTOTP(t, srv, "demo-en")
			c := signIn(t, srv, "demo-en", secret)

			r := srv.Get(t, c, "/security/email", h)
			checkPage(t, srv, r, lang, "contact.email.title")
			for _, tc := range []struct {
				form   url.Values
				path   string
				status int
				want   string
			}{
				{url.Values{"email": {""}}, "/security/email", 422, tr.T("enroll.email_page.required")},
				{url.Values{"email": {"not an address"}}, "/security/email", 422, tr.T("enroll.email_page.invalid")},
				{url.Values{"email": {"Alex.Chen@example.com"}}, "/security/email", 422, tr.T("contact.email.same")},
				{url.Values{"phone": {""}}, "/security/phone", 422, tr.T("contact.phone.required")},
				{url.Values{"phone": {"12"}}, "/security/phone", 422, tr.T("contact.phone.invalid")},
				{url.Values{"phone": {"+86 138 0013 8002"}}, "/security/phone", 422, tr.T("contact.phone.same")},
			} {
				r := srv.PostForm(t, c, tc.path, tc.form, h)
				wantStatus(t, r, tc.status)
				if got := strings.TrimSpace(r.Doc.Find("#error-summary li").Text()); got != tc.want {
					t.Errorf("%s %v: %q, want %q", tc.path, tc.form, got, tc.want)
				}
			}
			if u, _ := srv.Store.UserByID(context.Background(), "demo-en"); u.Email != enEmail || u.Phone != "+8613800138002" {
				t.Errorf("a refused change changed the contact: %q %q", u.Email, u.Phone)
			}
			// Stale: asked to sign in again and come back to the page.
			srv.Clock.Advance(11 * time.Minute)
			if r := srv.Get(t, c, "/security/email", h); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin?next=%2Fsecurity%2Femail&stepup=1" {
				t.Errorf("stale GET: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			if r := srv.PostForm(t, c, "/security/email", url.Values{"email": {"x@example.com"}}, h); !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
				t.Errorf("stale POST: %d %s", r.StatusCode, r.Header.Get("Location"))
			}
			// Not signed in at all.
			if r := srv.Get(t, srv.Client(), "/security/phone", h); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("signed out: %d", r.StatusCode)
			}
		})
	}
}

func TestContactPhone_ThroughSupportOnceSMSCodesClose(t *testing.T) {
	srv := fastServer(t)
	secret := enrolledTOTP(t, srv, "demo-late") // past the deadline: SMS codes no longer verify
	c := signIn(t, srv, "demo-late", secret)
	tr := srv.Catalog.For(i18n.Chinese)
	r := srv.Get(t, c, "/security/phone", nil)
	checkPage(t, srv, r, i18n.Chinese, "contact.phone.title")
	if r.Doc.Find(`form[action="/security/phone"]`).Length() != 0 || !strings.Contains(mainText(r.Doc), tr.T("contact.phone.support")) ||
		!strings.Contains(mainText(r.Doc), srv.Config.SupportPhone) {
		t.Errorf("the page offers a form, or does not say support changes the number:\n%s", mainText(r.Doc))
	}
	r = srv.PostForm(t, c, "/security/phone", url.Values{"phone": {"139 0000 0009"}}, nil)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	srv.Deliver(t)
	if n := len(srv.Devbox.For("+8613900000009")); n != 0 {
		t.Error("a code went to the new number after the deadline")
	}
	if page := srv.Get(t, c, "/security", nil); page.Doc.Find(`.contact-facts a[href="/security/phone"]`).Length() != 0 {
		t.Error("My security offers to change the number after the deadline")
	}
}

// A mail scanner or a preview opening the link changes nothing; the confirmation does, once, and
// only from the portal's own page.
func TestNotMe_OpeningDoesNothingConfirmingEndsEverySessionOnce(t *testing.T) {
	srv := fastServer(t)
	ctx := context.Background()
	secret := enrolledTOTP(t, srv, "demo-en")
	first := signIn(t, srv, "demo-en", secret)
	second := signIn(t, srv, "demo-en", secret)
	srv.Deliver(t)
	link := srv.NotMeLink(t, enEmail, "New sign-in")
	reader := srv.Client()
	for range 2 {
		r := srv.Get(t, reader, link, cookieLang(i18n.English))
		checkPage(t, srv, r, i18n.English, "notme.title")
	}
	if r := srv.Get(t, first, "/security", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("opening the link ended a session: %d", r.StatusCode)
	}
	// A cross-site form cannot use it.
	if r := srv.PostForm(t, reader, link, nil, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://attacker.example"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site confirmation: %d", r.StatusCode)
	}
	if u, _ := srv.Store.UserByID(ctx, "demo-en"); u.ChangesLocked() {
		t.Fatal("a refused confirmation locked the account")
	}
	if r := srv.PostForm(t, reader, link, nil, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/not-me/done" {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	for name, c := range map[string]*http.Client{"first": first, "second": second} {
		if r := srv.Get(t, c, "/security", nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s session still works after this-wasn't-me: %d", name, r.StatusCode)
		}
	}
	done := srv.Get(t, reader, "/not-me/done", cookieLang(i18n.English))
	checkPage(t, srv, done, i18n.English, "notme.done.title")
	if href, _ := done.Doc.Find(`main a.button[href="/verify"]`).Attr("href"); href != "/verify" {
		t.Error("the done page does not lead to verifying the identity again")
	}
	again := srv.PostForm(t, reader, link, nil, cookieLang(i18n.English))
	wantStatus(t, again, http.StatusGone)
	checkPage(t, srv, again, i18n.English, "notme.used.title")
	broken := srv.Get(t, reader, link[:len(link)-2]+"zz", cookieLang(i18n.English))
	wantStatus(t, broken, http.StatusNotFound)
	evs, _ := srv.Store.Events(ctx, "demo-en", 50)
	n := 0
	for _, e := range evs {
		if e.Type == "account.disavowed" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("account.disavowed in the history %d times, want 1", n)
	}
	// Verifying the identity again lifts the lock.
	verifiedClient(t, srv, "demo-en")
	if u, _ := srv.Store.UserByID(ctx, "demo-en"); u.ChangesLocked() {
		t.Error("still locked after a verification")
	}
}

func TestPrivacy_BothLanguagesWithTheConfiguredPeriodsAndLinkedFromEveryPage(t *testing.T) {
	srv := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) {
		c.HistoryRetention = 200 * 24 * time.Hour
		c.OutboxRetention = 0
	}))
	for _, tc := range both {
		t.Run(tc.name, func(t *testing.T) {
			tr := srv.Catalog.For(tc.lang)
			r := srv.Get(t, srv.Client(), "/privacy", tc.header)
			wantStatus(t, r, http.StatusOK)
			checkPage(t, srv, r, tc.lang, "privacy.title")
			text := mainText(r.Doc)
			for _, want := range []string{
				tr.Tf("privacy.long.history", map[string]any{"HistoryDays": 200}),
				tr.T("privacy.long.messages_kept"),
				tr.T("privacy.sensitive.title"),
				srv.Config.SupportEmail,
			} {
				if !strings.Contains(text, strings.Join(strings.Fields(want), " ")) {
					t.Errorf("the privacy page lacks %q", want)
				}
			}
			for _, path := range []string{"/", "/faq", "/signin", "/notice/" + srv.NoticeToken("demo-zh")} {
				page := srv.Get(t, srv.Client(), path, tc.header)
				lang, _ := page.Doc.Find("html").Attr("lang") // a notice speaks its user's language
				if a := page.Doc.Find(`footer a[href="/privacy"]`); a.Length() != 1 || strings.TrimSpace(a.Text()) != srv.Catalog.For(lang).T("site.footer.privacy") {
					t.Errorf("%s: no privacy link in the footer", path)
				}
			}
		})
	}
}
