package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/factor/totp"
	"github.com/smsretire/smsretire/web/webtest"
)

// stop is one answer the tour collected: a page of the portal in one state.
type stop struct {
	name   string            // the page and its state, such as "verify code/wrong code"
	resp   *webtest.Response // what the portal answered
	client *http.Client      // whose cookies asked for it, so a browser can open the same page
}

// fragment reports whether the answer is an htmx fragment rather than a whole document.
func (s stop) fragment() bool {
	return !strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(s.resp.Body))), "<!doctype html>")
}

// firstLoad reports whether a browser reaches the page by opening its URL, so that the page and
// everything it links are loaded afresh: a GET answered with a whole HTML document.
func (s stop) firstLoad() bool {
	return s.resp.Request.Method == http.MethodGet && isHTML(s.resp) && !s.fragment()
}

func isHTML(r *webtest.Response) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") && len(r.Body) > 0
}

// tourServer is a server for the tour: codes are delivered to the development outbox at once,
// and sends do not wait.
func tourServer(t *testing.T, opts ...webtest.ServerOption) *webtest.Server {
	return webtest.NewServer(t, append([]webtest.ServerOption{
		webtest.WithDelivery(webtest.DeliveryOptions{}),
		webtest.WithConfig(func(c *config.Config) {
			c.MinSendTime = 0
			oidcClients(c)
			c.Partners = append(c.Partners, testPartner(true))
			one := 1
			c.OIDC.RemindLater = &one
		}),
	}, opts...)...)
}

// tour walks every page of the portal in one language, the way users reach them, and returns
// each answer: every page opened by its URL, every form re-rendered with its errors (422), both
// htmx fragments, the refusals (401, 403, 404, 405, 410, 413, 429) and the development outbox.
// It uses up the demo users of s, so each language needs its own server. Every step that should
// lead somewhere is checked, so that a stop is the state its name says.
func tour(t *testing.T, s *webtest.Server, lang string) []stop {
	t.Helper()
	var stops []stop
	tourVisit(t, s, lang, func(st stop) { stops = append(stops, st) })
	return stops
}

// tourVisit walks the tour and calls visit at each stop, while the server is in that state (its
// clock included).
func tourVisit(t *testing.T, s *webtest.Server, lang string, visit func(stop)) {
	t.Helper()
	newClient := func() *http.Client {
		c := s.Client()
		u, _ := url.Parse(s.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang, Path: "/"}})
		return c
	}
	hx := http.Header{"HX-Request": {"true"}, "HX-Request-Type": {"partial"}}
	record := func(name string, c *http.Client, r *webtest.Response, status int) *webtest.Response {
		t.Helper()
		if r.StatusCode != status {
			t.Fatalf("tour %s (%s %s): status %d, want %d\n%s", name, r.Request.Method, r.Request.URL.Path, r.StatusCode, status, mainText(r.Doc))
		}
		visit(stop{name: name, resp: r, client: c})
		return r
	}
	get := func(name string, c *http.Client, path string, status int) *webtest.Response {
		t.Helper()
		return record(name, c, s.Get(t, c, path, nil), status)
	}
	post := func(name string, c *http.Client, path string, form url.Values, header http.Header, status int) *webtest.Response {
		t.Helper()
		return record(name, c, s.PostForm(t, c, path, form, header), status)
	}
	// step is a post that leads on with a redirect: an answer without a page.
	step := func(c *http.Client, path string, form url.Values, to string) {
		t.Helper()
		r := s.PostForm(t, c, path, form, nil)
		if r.StatusCode != http.StatusSeeOther || (to != "" && r.Header.Get("Location") != to) {
			t.Fatalf("tour: POST %s: %d to %q, want 303 to %q\n%s", path, r.StatusCode, r.Header.Get("Location"), to, mainText(r.Doc))
		}
		visit(stop{name: "redirect from POST " + path, resp: r, client: c})
	}

	// Anyone.
	anon := newClient()
	get("home", anon, "/", http.StatusOK)
	post("home/account missing", anon, "/find", url.Values{"account": {" "}}, nil, http.StatusUnprocessableEntity)
	get("faq", anon, "/faq", http.StatusOK)
	get("privacy", anon, "/privacy", http.StatusOK)
	get("notice", anon, "/notice/"+s.NoticeToken("demo-zh"), http.StatusOK)
	get("notice/past due", anon, "/notice/"+s.NoticeToken("demo-late"), http.StatusOK)
	get("notice/due today, no name", anon, "/notice/"+s.NoticeToken("demo-today"), http.StatusOK)
	get("notice/link broken", anon, "/notice/n1.broken", http.StatusNotFound)
	expiring := s.NoticeToken("demo-soon")
	s.Clock.Advance(s.Config.NoticeLinkTTL + time.Second)
	get("notice/link expired", anon, "/notice/"+expiring, http.StatusGone)
	s.Clock.Set(webtest.Now)
	get("not found", anon, "/no/such/page", http.StatusNotFound)
	post("method not allowed", anon, "/faq", url.Values{}, nil, http.StatusNotFound)
	post("cross-origin post refused", anon, "/find", url.Values{"account": {"demo-zh"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://attacker.example"}}, http.StatusForbidden)
	post("post too large", anon, "/find", url.Values{"account": {strings.Repeat("1", 70<<10)}}, nil, http.StatusRequestEntityTooLarge)
	get("enroll/not verified", anon, "/enroll", http.StatusForbidden)
	get("security/not signed in", anon, "/security", http.StatusUnauthorized)
	get("signin", anon, "/signin", http.StatusOK)
	post("signin/account missing", anon, "/signin/account", url.Values{"account": {""}, "method": {"totp"}}, nil, http.StatusUnprocessableEntity)
	post("signin/app/account missing", anon, "/signin/totp", url.Values{"account": {""}, "code": {"123456"}}, nil, http.StatusUnprocessableEntity)
	step(anon, "/signin/account", url.Values{"account": {"demo-hk"}, "method": {"totp"}, "remember": {"1"}}, "/signin?way=totp")
	get("signin/account chosen", anon, "/signin?way=totp", http.StatusOK)
	post("signin/app/code missing", anon, "/signin/totp", url.Values{"code": {""}}, nil, http.StatusUnprocessableEntity)
	for range 4 {
		post("signin/app/wrong code", anon, "/signin/totp", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	}
	post("signin/app/paused", anon, "/signin/totp", url.Values{"code": {"000000"}}, nil, http.StatusTooManyRequests)
	post("signin/recovery/code missing", anon, "/signin/recovery", url.Values{"code": {""}}, nil, http.StatusUnprocessableEntity)
	step(anon, "/signin/forget", nil, "/signin")

	// The campaign: "remind me later", the grace days after a deadline and after them.
	snoozer := newClient()
	get("notice/remind me later offered", snoozer, "/notice/"+s.NoticeToken("demo-hk"), http.StatusOK)
	step(snoozer, "/notice/snooze", url.Values{}, "/notice/snoozed")
	get("notice/snoozed", snoozer, "/notice/snoozed", http.StatusOK)
	get("notice/snooze running", snoozer, "/notice/"+s.NoticeToken("demo-hk"), http.StatusOK)
	today := newClient()
	get("notice/due today", today, "/notice/"+s.NoticeToken("demo-today"), http.StatusOK)
	post("notice/snooze refused: due today", today, "/notice/snooze", url.Values{}, nil, http.StatusUnprocessableEntity)
	late := newClient()
	get("notice/grace", late, "/notice/"+s.NoticeToken("demo-late"), http.StatusOK)
	get("verify/grace: SMS closed", late, "/verify", http.StatusOK)
	s.Clock.Advance(10 * 24 * time.Hour) // 15 days past: the grace has ended
	get("notice/after the grace", late, "/notice/"+s.NoticeToken("demo-late"), http.StatusOK)
	get("verify/after the grace: assist only", late, "/verify", http.StatusOK)
	s.Clock.Set(webtest.Now)

	// Look-up by a stranger: the account is named but not identified, until the knowledge check.
	finder := newClient()
	step(finder, "/find", url.Values{"account": {"demo-en"}}, "/verify")
	get("verify/looked up", finder, "/verify", http.StatusOK)
	get("verify knowledge", finder, "/verify/knowledge", http.StatusOK)
	post("verify knowledge/fields missing", finder, "/verify/knowledge", url.Values{"phone": {""}, "last4": {""}}, nil, http.StatusUnprocessableEntity)
	post("verify knowledge/wrong", finder, "/verify/knowledge", url.Values{"phone": {"13800138009"}, "last4": {"0000"}}, nil, http.StatusUnprocessableEntity)
	step(finder, "/verify/knowledge", url.Values{"phone": {"13800138002"}, "last4": {"4567"}}, "/verify")
	get("verify/knowledge passed", finder, "/verify", http.StatusOK)

	// Too many wrong answers pause the check: the page says so, until when, and what still works.
	locker := newClient()
	step(locker, "/find", url.Values{"account": {"demo-soon"}}, "/verify")
	for range 4 {
		post("verify knowledge/wrong", locker, "/verify/knowledge", url.Values{"phone": {"13800138004"}, "last4": {"0000"}}, nil, http.StatusUnprocessableEntity)
	}
	post("verify knowledge/paused", locker, "/verify/knowledge", url.Values{"phone": {"13800138004"}, "last4": {"0000"}}, nil, http.StatusTooManyRequests)

	// From the notice link to a retired SMS.
	user := newClient()
	get("notice/opened by its user", user, "/notice/"+s.NoticeToken("demo-zh"), http.StatusOK)
	get("verify/identified", user, "/verify", http.StatusOK)
	get("verify assist", user, "/verify/assist", http.StatusOK)
	post("verify assist/wrong code", user, "/verify/assist", url.Values{"code": {"12345678"}}, nil, http.StatusUnprocessableEntity)
	step(user, "/verify/code/send", url.Values{"channel": {"phone"}}, "/verify/code")
	s.Deliver(t) // each code on its own: the worker sends queued messages concurrently
	get("verify code", user, "/verify/code", http.StatusOK)
	post("verify code/code missing", user, "/verify/code/check", url.Values{"code": {""}}, nil, http.StatusUnprocessableEntity)
	post("verify code/wrong code (htmx)", user, "/verify/code/check", url.Values{"code": {"000000"}}, hx, http.StatusUnprocessableEntity)
	post("verify code/resend too early (htmx)", user, "/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}}, hx, http.StatusTooManyRequests)
	s.Clock.Advance(61 * time.Second)
	post("verify code/resent (htmx)", user, "/verify/code/send", url.Values{"channel": {"phone"}, "resend": {"1"}}, hx, http.StatusOK)
	// The new code is on its way: the status block the page polls comes anew (the page showed "sent").
	record("verify code/delivery status (htmx)", user, s.Get(t, user, "/verify/code/delivery?seen=sent", hx), http.StatusOK)
	post("verify/bad channel", user, "/verify/code/send", url.Values{"channel": {"pigeon"}}, nil, http.StatusBadRequest)
	s.Deliver(t)
	step(user, "/verify/code/check", url.Values{"code": {s.LastCode(t, zhPhone)}}, "/verify/done")
	get("verify done", user, "/verify/done", http.StatusOK)

	get("enroll", user, "/enroll", http.StatusOK)
	get("enroll passkey", user, "/enroll/passkey", http.StatusOK)
	app := get("enroll app", user, "/enroll/totp", http.StatusOK)
	post("enroll app/code missing", user, "/enroll/totp", url.Values{"code": {""}}, nil, http.StatusUnprocessableEntity)
	post("enroll app/wrong code", user, "/enroll/totp", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	secret := secretFrom(t, app)
	code, err := totp.CodeAt(secret, s.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	step(user, "/enroll/totp", url.Values{"code": {code}}, "/enroll/recovery")
	get("enroll recovery codes", user, "/enroll/recovery", http.StatusOK)
	get("enroll/recovery codes waiting", user, "/enroll", http.StatusOK)
	step(user, "/enroll/recovery/done", url.Values{"next": {"/enroll/done"}}, "")
	get("enroll done/SMS retired", user, "/enroll/done", http.StatusOK)
	get("enroll recovery codes/gone", user, "/enroll/recovery", http.StatusOK)
	get("notice/retired", user, "/notice/"+s.NoticeToken("demo-zh"), http.StatusOK)

	// Signed in: another factor, My security.
	s.Clock.Advance(30 * time.Second)
	code, _ = totp.CodeAt(secret, s.Clock.Now())
	signedIn := newClient()
	step(signedIn, "/signin/totp", url.Values{"account": {"demo-zh"}, "code": {code}}, "")
	get("enroll email", signedIn, "/enroll/email", http.StatusOK)
	post("enroll email/bad address", signedIn, "/enroll/email", url.Values{"email": {"not an address"}}, nil, http.StatusUnprocessableEntity)
	step(signedIn, "/enroll/email", url.Values{"email": {"second@example.com"}}, "/enroll/email")
	get("enroll email/code sent", signedIn, "/enroll/email", http.StatusOK)
	post("enroll email/wait to send", signedIn, "/enroll/email", url.Values{"email": {"third@example.com"}}, nil, http.StatusTooManyRequests)
	post("enroll email/wrong code", signedIn, "/enroll/email/confirm", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	s.Deliver(t)
	step(signedIn, "/enroll/email/confirm", url.Values{"code": {s.LastCode(t, "second@example.com")}}, "/enroll/done")
	get("enroll done/factor added", signedIn, "/enroll/done", http.StatusOK)
	get("security", signedIn, "/security", http.StatusOK)
	tourQR(t, s, newClient, signedIn, get, post, record, step)
	factors, err := s.Store.Factors(context.Background(), "demo-zh")
	if err != nil || len(factors) < 2 {
		t.Fatalf("tour: factors of demo-zh: %v, %v", factors, err)
	}
	id := itoa(factors[0].ID)
	post("security/rename/name missing", signedIn, "/security/factors/"+id+"/rename", url.Values{"name": {""}}, nil, http.StatusUnprocessableEntity)
	post("security/remove/not confirmed", signedIn, "/security/factors/"+id+"/remove", url.Values{"confirm": {"no"}}, nil, http.StatusUnprocessableEntity)
	step(signedIn, "/security/recovery/regenerate", nil, "/enroll/recovery")
	get("enroll recovery codes/regenerated", signedIn, "/enroll/recovery", http.StatusOK)

	// Contact details: a new email address, confirmed by a code; a new number, until its code.
	get("security/email", signedIn, "/security/email", http.StatusOK)
	post("security/email/bad address", signedIn, "/security/email", url.Values{"email": {"not an address"}}, nil, http.StatusUnprocessableEntity)
	s.Clock.Advance(61 * time.Second)
	step(signedIn, "/security/email", url.Values{"email": {"new@example.com"}}, "/security/email")
	get("security/email/code sent", signedIn, "/security/email", http.StatusOK)
	post("security/email/wrong code", signedIn, "/security/email/confirm", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	s.Deliver(t)
	step(signedIn, "/security/email/confirm", url.Values{"code": {s.LastCode(t, "new@example.com")}}, "/security")
	get("security/email changed", signedIn, "/security", http.StatusOK)
	step(signedIn, "/security/email/reset", nil, "/security/email")
	s.Clock.Advance(61 * time.Second)
	get("security/phone", signedIn, "/security/phone", http.StatusOK)
	post("security/phone/not a number", signedIn, "/security/phone", url.Values{"phone": {"12"}}, nil, http.StatusUnprocessableEntity)
	step(signedIn, "/security/phone", url.Values{"phone": {"139 0000 0001"}}, "/security/phone")
	get("security/phone/code sent", signedIn, "/security/phone", http.StatusOK)
	post("security/phone/wrong code", signedIn, "/security/phone/confirm", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	step(signedIn, "/security/phone/reset", nil, "/security/phone")
	// The codes above used up the account's sends for the hour; the session idles out too.
	s.Clock.Advance(61 * time.Minute)
	get("signin/step up", signedIn, "/signin?next=%2Fsecurity&stepup=1", http.StatusOK)

	// Sign in by email code.
	byEmail := newClient()
	post("signin/email/account missing", byEmail, "/signin/email/send", url.Values{"account": {""}}, nil, http.StatusUnprocessableEntity)
	step(byEmail, "/signin/email/send", url.Values{"account": {"demo-zh"}}, "/signin?way=email")
	get("signin/email code sent", byEmail, "/signin?way=email", http.StatusOK)
	post("signin/email/wrong code", byEmail, "/signin/email/check", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)

	// Inside a partner's frame (embed.go): a refused launch, a launch, the journey to a retired SMS.
	framed := newClient()
	framed.Jar = secureJar{framed.Jar}
	ep := "/embed/" + testPartnerID
	get("embed/launch refused", framed, launchPath("not-a-token"), http.StatusForbidden)
	get("embed/no session", framed, ep+"/verify", http.StatusUnauthorized)
	get("embed/no logo", framed, ep+"/logo", http.StatusNotFound)
	if r := s.Get(t, framed, launchPath(launchToken(t, s, "demo-en", 2*time.Minute)), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("tour: embedded launch: %d\n%s", r.StatusCode, mainText(r.Doc))
	}
	get("embed/notice", framed, ep+"/notice", http.StatusOK)
	get("embed/verify", framed, ep+"/verify", http.StatusOK)
	get("embed/verify knowledge", framed, ep+"/verify/knowledge", http.StatusOK)
	post("embed/verify knowledge/fields missing", framed, ep+"/verify/knowledge", url.Values{"phone": {""}, "last4": {""}}, nil, http.StatusUnprocessableEntity)
	get("embed/verify assist", framed, ep+"/verify/assist", http.StatusOK)
	post("embed/verify assist/wrong code", framed, ep+"/verify/assist", url.Values{"code": {"12345678"}}, nil, http.StatusUnprocessableEntity)
	post("embed/verify/bad channel", framed, ep+"/verify/code/send", url.Values{"channel": {"pigeon"}}, nil, http.StatusBadRequest)
	step(framed, ep+"/verify/code/send", url.Values{"channel": {"phone"}}, ep+"/verify/code")
	s.Deliver(t)
	get("embed/verify code", framed, ep+"/verify/code", http.StatusOK)
	record("embed/verify code/delivery status (htmx)", framed, s.Get(t, framed, ep+"/verify/code/delivery?seen=queued", hx), http.StatusOK)
	post("embed/verify code/wrong code", framed, ep+"/verify/code/check", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	step(framed, ep+"/verify/code/check", url.Values{"code": {s.LastCode(t, "+8613800138002")}}, ep+"/verify/done")
	get("embed/verify done", framed, ep+"/verify/done", http.StatusOK)
	get("embed/enroll", framed, ep+"/enroll", http.StatusOK)
	passkeyPage := get("embed/enroll passkey", framed, ep+"/enroll/passkey", http.StatusOK)
	windowLink, _ := passkeyPage.Doc.Find("[data-embed-window] a").Attr("href")
	get("enroll window/link broken", newClient(), "/enroll/window/n1.broken", http.StatusNotFound)
	if r := s.Get(t, newClient(), windowLink, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/enroll/passkey" {
		t.Fatalf("tour: the passkey window's link %q: %d to %q", windowLink, r.StatusCode, r.Header.Get("Location"))
	}
	get("enroll window/used", newClient(), windowLink, http.StatusGone)
	get("embed/enroll email", framed, ep+"/enroll/email", http.StatusOK)
	post("embed/enroll email/bad address", framed, ep+"/enroll/email", url.Values{"email": {"not an address"}}, nil, http.StatusUnprocessableEntity)
	step(framed, ep+"/enroll/email", url.Values{"email": {"framed@example.com"}}, ep+"/enroll/email")
	post("embed/enroll email/wrong code", framed, ep+"/enroll/email/confirm", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	embeddedApp := get("embed/enroll app", framed, ep+"/enroll/totp", http.StatusOK)
	post("embed/enroll app/wrong code", framed, ep+"/enroll/totp", url.Values{"code": {"000000"}}, nil, http.StatusUnprocessableEntity)
	code, _ = totp.CodeAt(secretFrom(t, embeddedApp), s.Clock.Now())
	step(framed, ep+"/enroll/totp", url.Values{"code": {code}}, ep+"/enroll/recovery")
	get("embed/enroll recovery codes", framed, ep+"/enroll/recovery", http.StatusOK)
	step(framed, ep+"/enroll/recovery/done", url.Values{"next": {ep + "/enroll/done"}}, ep+"/enroll/done")
	get("embed/enroll done", framed, ep+"/enroll/done", http.StatusOK)
	snoozer = newClient()
	snoozer.Jar = secureJar{snoozer.Jar}
	if r := s.Get(t, snoozer, launchPath(launchToken(t, s, "demo-today", 2*time.Minute)), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("tour: embedded launch: %d", r.StatusCode)
	}
	post("embed/notice/snooze refused: due today", snoozer, ep+"/notice/snooze", url.Values{}, nil, http.StatusUnprocessableEntity)
	later := newClient()
	later.Jar = secureJar{later.Jar}
	if r := s.Get(t, later, launchPath(launchToken(t, s, "demo-hk", 2*time.Minute)), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("tour: embedded launch: %d", r.StatusCode)
	}
	step(later, ep+"/notice/snooze", url.Values{}, ep+"/notice/snoozed")
	get("embed/notice snoozed", later, ep+"/notice/snoozed", http.StatusOK)

	tourApproval(t, s, "demo-zh", secret, newClient, record)
	tourOIDC(t, s, newClient, get, post)
	tourStaff(t, s, newClient, get, post)
	tourConsole(t, s, newClient, get, post)

	s.Deliver(t)
	get("development outbox", anon, "/dev/outbox", http.StatusOK)

	// "This wasn't me" from the old address's notice of the email change: asked, then done.
	zh := s.Catalog.For("zh-Hans")
	about := zh.Tf("mail.notice.contact.changed.subject", map[string]any{"Service": s.Config.ServiceName, "Field": zh.T("mail.field.email")})
	link := s.NotMeLink(t, zhEmail, about)
	mailReader := newClient()
	get("not me", mailReader, link, http.StatusOK)
	step(mailReader, link, nil, "/not-me/done")
	get("not me/done", mailReader, "/not-me/done", http.StatusOK)
	get("not me/used", mailReader, link, http.StatusGone)
	get("not me/broken link", mailReader, "/not-me/broken", http.StatusNotFound)
	// Signed in again, the account's changes wait for a new verification.
	s.Clock.Advance(30 * time.Second)
	code, _ = totp.CodeAt(secret, s.Clock.Now())
	locked := newClient()
	step(locked, "/signin/totp", url.Values{"account": {"demo-zh"}, "code": {code}}, "")
	get("security/changes locked", locked, "/security", http.StatusOK)
	post("security/change refused while locked", locked, "/security/recovery/regenerate", nil, nil, http.StatusForbidden)
	step(locked, "/security/verify", nil, "/verify")
}

// tourOIDC visits the pages of a sign-in for a service: the refusals of a bad request, the
// retirement notice on the way (named by the service, or asking for the account), the sign-in
// page for a service, and "remind me later" used up.
func tourOIDC(t *testing.T, s *webtest.Server, newClient func() *http.Client,
	get func(string, *http.Client, string, int) *webtest.Response,
	post func(string, *http.Client, string, url.Values, http.Header, int) *webtest.Response) {
	t.Helper()
	authorize := func(extra url.Values) url.Values {
		q := url.Values{"client_id": {shopID}, "redirect_uri": {shopCallback}, "response_type": {"code"}, "scope": {"openid"},
			"state": {"st"}, "nonce": {"n"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSW-cM"}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	// start sends a browser to the provider and returns the request's ID from the login step.
	start := func(c *http.Client, extra url.Values) string {
		t.Helper()
		r := s.Get(t, c, "/oidc/authorize?"+authorize(extra).Encode(), nil)
		loc := r.Header.Get("Location")
		if r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/oidc/login?id=") {
			t.Fatalf("tour: authorize: %d to %q", r.StatusCode, loc)
		}
		return strings.TrimPrefix(loc, "/oidc/login?id=")
	}
	anon := newClient()
	get("oidc/unknown client", anon, "/oidc/authorize?"+authorize(url.Values{"client_id": {"nobody"}}).Encode(), http.StatusBadRequest)
	get("oidc/redirect uri not registered", anon, "/oidc/authorize?"+authorize(url.Values{"redirect_uri": {"https://evil.example/cb"}}).Encode(), http.StatusBadRequest)
	get("oidc/callback of no request", anon, "/oidc/authorize/callback?id=nothing", http.StatusBadRequest)
	get("oidc/login step of no request", anon, "/oidc/login?id=nothing", http.StatusBadRequest)
	post("oidc/cancel of no request", anon, "/oidc/login/cancel", url.Values{"id": {"nothing"}}, nil, http.StatusBadRequest)

	// A service names a user not yet migrated: the notice first.
	named := newClient()
	id := start(named, url.Values{"login_hint": {"demo-soon"}})
	if r := s.Get(t, named, "/oidc/login?id="+id, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/oidc/nudge/"+id {
		t.Fatalf("tour: login step for demo-soon: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	get("oidc notice/named", named, "/oidc/nudge/"+id, http.StatusOK)
	for range 2 { // the first "later" returns to the service; the second finds none left
		id = start(named, url.Values{"login_hint": {"demo-soon"}})
		s.Get(t, named, "/oidc/login?id="+id, nil)
		if r := s.PostForm(t, named, "/oidc/nudge/later", url.Values{"id": {id}}, nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("tour: remind me later: %d", r.StatusCode)
		}
		s.Deliver(t)
		r := s.PostForm(t, named, "/verify/code/check", url.Values{"code": {s.LastCode(t, "+8613800138004")}}, nil)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/oidc/later?id=") {
			t.Fatalf("tour: SMS code for later: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		s.Clock.Advance(61 * time.Second)
		if r := s.Get(t, named, r.Header.Get("Location"), nil); r.StatusCode == http.StatusOK {
			visit := get // the page that says none are left
			visit("oidc/remind me later used up", named, r.Request.URL.RequestURI(), http.StatusOK)
		}
	}

	// A service that names nobody: the sign-in page for it, and the notice asking for the account.
	nobody := newClient()
	id = start(nobody, nil)
	if r := s.Get(t, nobody, "/oidc/login?id="+id, nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("tour: login step without a hint: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	get("signin/for a service", nobody, "/signin?next="+url.QueryEscape("/oidc/login?id="+id), http.StatusOK)
	get("oidc notice/account asked", nobody, "/oidc/nudge/"+id, http.StatusOK)
	post("oidc notice/account missing", nobody, "/oidc/nudge/setup", url.Values{"id": {id}, "account": {""}}, nil, http.StatusUnprocessableEntity)
	post("oidc notice/later, account missing", nobody, "/oidc/nudge/later", url.Values{"id": {id}, "account": {""}}, nil, http.StatusUnprocessableEntity)
	passkeyOnly := newClient()
	id = start(passkeyOnly, url.Values{"acr_values": {"phr"}, "login_hint": {"demo-zh"}})
	s.Get(t, passkeyOnly, "/oidc/login?id="+id, nil)
	get("signin/for a service, passkey only", passkeyOnly, "/signin?next="+url.QueryEscape("/oidc/login?id="+id), http.StatusOK)
}

// routeOf returns the route that answered r, as "METHOD path" of e.Routes(), or "" when none did.
func routeOf(e *echo.Echo, r *http.Request) string {
	c := e.NewContext(nil, nil)
	e.Router().Find(r.Method, r.URL.Path, c)
	for _, rt := range e.Routes() {
		if rt.Method == r.Method && rt.Path == c.Path() {
			return rt.Method + " " + rt.Path
		}
	}
	return ""
}

// withoutPages are the routes that never answer with a page, and why the tour leaves them out.
var withoutPages = map[string]string{
	"POST /lang":                                 "redirects back",
	"POST /enroll/passkey/options":               "JSON for the passkey script",
	"POST /enroll/passkey/finish":                "JSON for the passkey script",
	"POST /enroll/email/reset":                   "redirects to the address form",
	"GET /enroll/recovery.txt":                   "a text file",
	"POST /enroll/recovery/done":                 "redirects on",
	"POST /signin/passkey/options":               "JSON for the passkey script",
	"POST /signin/passkey/finish":                "JSON for the passkey script",
	"POST /signout":                              "redirects home",
	"POST /staff/signout":                        "redirects to the staff sign-in",
	"POST /staff/signin/passkey/options":         "JSON for the passkey script",
	"POST /staff/signin/passkey/finish":          "JSON for the passkey script",
	"POST /staff/setup/:token/passkey/options":   "JSON for the passkey script",
	"POST /staff/setup/:token/passkey/finish":    "JSON for the passkey script",
	"POST /signin/forget":                        "redirects to the account field",
	"POST /signin/qr/cancel":                     "redirects to the sign-in page",
	"POST /security/sessions/end":                "redirects to My security",
	"POST /security/sessions/end-others":         "redirects to My security",
	"POST /security/verify":                      "redirects to the verification",
	"POST /security/email/reset":                 "redirects to the address form",
	"POST /security/phone/reset":                 "redirects to the number form",
	"POST /not-me/:token":                        "redirects to what was done, or says the link does not work",
	"GET /healthz":                               "plain text for probes",
	"GET /readyz":                                "plain text for probes",
	"GET /static/*":                              "static files",
	"GET /oidc/.well-known/openid-configuration": "JSON for services (OpenID Connect discovery)",
	"GET /oidc/keys":                             "JSON for services (the signing keys)",
	"POST /oidc/oauth/token":                     "JSON for services",
	"GET /oidc/userinfo":                         "JSON for services",
	"POST /oidc/userinfo":                        "JSON for services",
	"POST /oidc/revoke":                          "answers services with no body",
	"GET /oidc/end_session":                      "redirects to the service",
	"GET /embed/:partner/brand.css":              "a stylesheet",
	"GET /embed/:partner/enroll/passkey/status":  "JSON for embed.js",
	// Approval on a signed-in phone.
	"POST /security/approver":         "redirects to My security",
	"POST /security/approver/remove":  "redirects to My security",
	"POST /security/push/subscribe":   "JSON for the notification script",
	"POST /security/push/unsubscribe": "JSON for the notification script",
	"GET /manifest.webmanifest":       "the web app manifest (JSON)",
	"GET /sw.js":                      "the service worker (JavaScript)",
	"GET /staff/audit.csv":            "a CSV download (console_test.go checks it)",
}

// TestTour_VisitsEveryPage makes sure the tour, which the HTML, header and page-weight checks
// rely on, sees a page from every route that renders one, so a new page cannot escape them.
func TestTour_VisitsEveryPage(t *testing.T) {
	s := tourServer(t)
	seen := map[string]bool{}
	for _, st := range tour(t, s, "en") {
		if isHTML(st.resp) {
			seen[routeOf(s.Echo, st.resp.Request)] = true
		}
	}
	for _, rt := range s.Echo.Routes() {
		key := rt.Method + " " + rt.Path
		unembedded := key
		if path, ok := strings.CutPrefix(rt.Path, "/embed/:partner"); ok && strings.HasPrefix(rt.Name, "embed.") {
			unembedded = rt.Method + " " + path // an embedded twin renders what its route does
		}
		_, without := withoutPages[key]
		if _, ok := withoutPages[unembedded]; ok || without {
			if seen[key] {
				t.Errorf("%s is listed as rendering no page, but the tour got one from it", key)
			}
			continue
		}
		if !seen[key] {
			t.Errorf("the tour saw no page from %s (%s): add it to tour(), or to withoutPages saying why", key, rt.Name)
		}
	}
}
