package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/i18n"
	"github.com/smsretire/smsretire/web/webtest"
)

func TestNoticeShow_ShowsMaskedPhoneDeadlineAndDaysLeft(t *testing.T) {
	s := webtest.NewServer(t)
	tests := []struct {
		name     string
		header   http.Header
		lang     string
		deadline string
		daysLeft string
	}{
		// demo-zh's roster language is Chinese; the browser made no choice.
		{"roster language", nil, i18n.Chinese, "2026年12月31日", "还剩 37 天"},
		{"chosen English", cookieLang(i18n.English), i18n.English, "31 December 2026", "37 days left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-zh"), tt.header)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", r.StatusCode)
			}
			checkPage(t, s, r, tt.lang, "notice.title")
			if got := strings.TrimSpace(r.Doc.Find(".phone").Text()); got != "138****8001" {
				t.Errorf("phone %q, want 138****8001", got)
			}
			deadline := r.Doc.Find("time.deadline")
			if got := strings.TrimSpace(deadline.Text()); got != tt.deadline {
				t.Errorf("deadline %q, want %q", got, tt.deadline)
			}
			if got := deadline.AttrOr("datetime", ""); got != "2026-12-31" {
				t.Errorf("deadline datetime %q, want 2026-12-31", got)
			}
			if got := strings.TrimSpace(r.Doc.Find(".days-left").Text()); got != tt.daysLeft {
				t.Errorf("days left %q, want %q", got, tt.daysLeft)
			}
			if strings.Contains(string(r.Body), "13800138001") {
				t.Error("the full phone number is in the page")
			}
			if !strings.Contains(mainText(r.Doc), "张伟") {
				t.Error("the greeting does not name the user")
			}
		})
	}
}

// Each phase has its own intro: before the deadline, on its day, after it. Only before and on the
// day does the notice say what happens without action; after it, what verifying takes leaves SMS
// out.
func TestNoticeShow_IntroPerPhase(t *testing.T) {
	s := webtest.NewServer(t)
	tr := s.Catalog.For(i18n.Chinese)
	tests := []struct {
		user, phase, date, days, access string
		pastDue, nothing                bool
	}{
		{"demo-zh", "before", "2026年12月31日", "还剩 37 天", "notice.prepare.access", false, true},
		{"demo-today", "deadline_day", "2026年11月24日", "今天是最后一天", "notice.prepare.access", false, true},
		{"demo-late", "after", "2026年11月19日", "", "notice.prepare.access_grace", true, false}, // within the 14 grace days
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken(tt.user), cookieLang(i18n.Chinese))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", r.StatusCode)
			}
			want := tr.Tf("notice.intro."+tt.phase, map[string]any{"Date": tt.date})
			if got := strings.TrimSpace(r.Doc.Find(".notice-intro").Text()); got != want {
				t.Errorf("intro %q, want %q", got, want)
			}
			if got := r.Doc.Find(".deadline-card.past-due").Length() == 1; got != tt.pastDue {
				t.Errorf("deadline card marked past due: %v, want %v", got, tt.pastDue)
			}
			if got := strings.TrimSpace(r.Doc.Find(".days-left").Text()); got != tt.days {
				t.Errorf("days left %q, want %q", got, tt.days)
			}
			if got := r.Doc.Find("#nothing-title").Length() == 1; got != tt.nothing {
				t.Errorf("\"if you do nothing\" shown: %v, want %v", got, tt.nothing)
			}
			if !strings.Contains(r.Doc.Find("section[aria-labelledby=prepare-title]").Text(), tr.T(tt.access)) {
				t.Errorf("what verifying takes is not %s", tt.access)
			}
			if r.Doc.Find(`main a.button[href="/verify"]`).Length() != 1 {
				t.Error("no way to start")
			}
		})
	}
}

// Past the grace days the notice still speaks of the deadline as past, and says that only support
// (or a partner site) can confirm who the user is now.
func TestNoticeShow_AfterTheGraceOnlySupport(t *testing.T) {
	s := webtest.NewServer(t)
	s.Clock.Advance(20 * 24 * time.Hour) // demo-late's deadline was 5 days ago; the grace is 14 days
	tr := s.Catalog.For(i18n.Chinese)
	r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-late"), cookieLang(i18n.Chinese))
	if !strings.HasPrefix(strings.TrimSpace(r.Doc.Find(".notice-intro").Text()), "您的截止日期") {
		t.Errorf("intro %q", r.Doc.Find(".notice-intro").Text())
	}
	if !strings.Contains(r.Doc.Find("section[aria-labelledby=prepare-title]").Text(), tr.T("notice.prepare.access_closed")) {
		t.Error("past the grace, the notice does not say that only support can help")
	}
	if r.Doc.Find("#nothing-title").Length() != 0 {
		t.Error("past the grace, the notice still says what happens if you do nothing")
	}
}

// Regression: reopening the notice after the retirement still asked to switch before the deadline,
// with days left, the steps and "if you do nothing", and no way to sign in. A retired user's notice
// says it is done, when and with which method, and leads to My security.
func TestNoticeShow_RetiredUserIsToldItIsDone(t *testing.T) {
	srv := fastServer(t)
	enrolledWithRecovery(t, srv, "demo-zh")
	tr := srv.Catalog.For(i18n.Chinese)
	r := srv.Get(t, srv.Client(), "/notice/"+srv.NoticeToken("demo-zh"), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	want := tr.Tf("notice.intro.retired", map[string]any{"Date": "2026年11月24日 10:00", "Ways": tr.T("factor.way.totp")})
	if got := strings.TrimSpace(r.Doc.Find(".notice-intro").Text()); got != want {
		t.Errorf("intro %q, want %q", got, want)
	}
	for _, gone := range []string{".deadline-card", ".days-left", "#steps-title", "#nothing-title", `a[href="/verify"]`} {
		if r.Doc.Find(gone).Length() != 0 {
			t.Errorf("a retired user's notice still shows %s", gone)
		}
	}
	if href, _ := r.Doc.Find("main .cta a.button").Attr("href"); href != "/signin?next=%2Fsecurity" {
		t.Errorf("the notice leads to %q, want sign-in to My security", href)
	}
}

// With --knowledge-suffices the notice says the phone number and ID digits are enough.
func TestNoticeShow_SaysWhatVerifyingTakes(t *testing.T) {
	for _, suffices := range []bool{false, true} {
		s := webtest.NewServer(t, webtest.WithConfig(func(c *config.Config) { c.KnowledgeSuffices = suffices }))
		tr := s.Catalog.For(i18n.Chinese)
		r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-zh"), nil)
		prepare := r.Doc.Find("section[aria-labelledby=prepare-title]").Text()
		key := "notice.prepare.access"
		if suffices {
			key += "_knowledge"
		}
		if !strings.Contains(prepare, tr.T(key)) {
			t.Errorf("knowledge suffices %v: %q lacks %s", suffices, prepare, key)
		}
		if mentions := strings.Contains(prepare, "证件号码"); mentions != suffices {
			t.Errorf("knowledge suffices %v, yet the ID digits are mentioned: %v", suffices, mentions)
		}
	}
}

func TestNoticeShow_ExpiredLinkGives410WithLookUpForm(t *testing.T) {
	s := webtest.NewServer(t)
	token := s.NoticeToken("demo-zh")
	s.Clock.Advance(s.Config.NoticeLinkTTL + time.Second)
	r := s.Get(t, s.Client(), "/notice/"+token, cookieLang(i18n.English))
	if r.StatusCode != http.StatusGone {
		t.Fatalf("status %d, want 410", r.StatusCode)
	}
	checkPage(t, s, r, i18n.English, "notice.expired.title")
	if r.Doc.Find(`main form[method="post"][action="/find"] input#account[name="account"]`).Length() != 1 {
		t.Error("no account look-up form on the expired page")
	}
	if strings.Contains(string(r.Body), "138****8001") || strings.Contains(mainText(r.Doc), "张伟") {
		t.Error("the expired page shows the account's details")
	}
}

// alterSignature changes one character in the middle of the token's signature.
func alterSignature(token string) string {
	i := len(token) - 10
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// swapUser puts another user's ID into a token, keeping the signature.
func swapUser(token, userID string) string {
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(userID))
	return strings.Join(parts, ".")
}

func TestNoticeShow_BrokenLinksNeverRevealWhetherAccountExists(t *testing.T) {
	s := webtest.NewServer(t)
	valid := s.NoticeToken("demo-zh")
	tokens := []struct{ name, token string }{
		{"altered signature", alterSignature(valid)},
		{"other user in a signed token", swapUser(valid, "demo-en")},
		{"truncated", valid[:len(valid)-5]},
		{"garbage", "hello"},
		{"signed for no such user", s.NoticeToken("no-such-user")},
	}
	var wantMain string
	for i, tt := range tokens {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Get(t, s.Client(), "/notice/"+tt.token, cookieLang(i18n.Chinese))
			if r.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", r.StatusCode)
			}
			checkPage(t, s, r, i18n.Chinese, "notice.invalid.title")
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("a broken link set cookies: %q", sc)
			}
			got := mainText(r.Doc)
			if i == 0 {
				wantMain = got
			} else if got != wantMain {
				t.Errorf("<main> differs from an altered link's:\n got %q\nwant %q", got, wantMain)
			}
		})
	}
}

func TestNoticeShow_IsNeitherCachedNorReferred(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-zh"), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", r.StatusCode)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
}

func TestNoticeShow_FollowsRosterLanguageUnlessChosen(t *testing.T) {
	s := webtest.NewServer(t)
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"no choice", nil, i18n.English},
		{"browser prefers Chinese", acceptLang("zh-CN"), i18n.English},
		{"chose Chinese", cookieLang(i18n.Chinese), i18n.Chinese},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Get(t, s.Client(), "/notice/"+s.NoticeToken("demo-en"), tt.header)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", r.StatusCode)
			}
			checkPage(t, s, r, tt.want, "notice.title")
		})
	}
}

// The link operators send (`smsretire notice-link`, the demo links) opens the notice page: the
// App and the routes agree on its path.
func TestNoticeShow_OpensTheLinkTheAppSigns(t *testing.T) {
	s := webtest.NewServer(t)
	path := strings.TrimPrefix(s.App.NoticeLink("demo-zh"), s.Config.BaseURL)
	if !strings.HasPrefix(path, "/") {
		t.Fatalf("notice link %q does not start with the base URL %q", s.App.NoticeLink("demo-zh"), s.Config.BaseURL)
	}
	if r := s.Get(t, s.Client(), path, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, r.StatusCode)
	}
}

// Regression: looking up one's own phone number on "/" and then opening one's notice link left
// /verify saying "to the phone registered on the account" instead of the masked number: the
// link identifies the account even when the look-up named it already.
func TestNoticeShow_IdentifiesTheAccountALookUpNamed(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	tr := s.Catalog.For(i18n.Chinese)
	if r := s.PostForm(t, c, "/find", url.Values{"account": {"138 0013 8001"}}, nil); r.Header.Get("Location") != "/verify" {
		t.Fatalf("look-up: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if got := s.Get(t, c, "/verify", nil).Doc.Find(".method").First().Text(); !strings.Contains(got, tr.T("verify.phone.to_registered")) {
		t.Fatalf("after a look-up /verify says %q", got)
	}
	s.Get(t, c, "/notice/"+s.NoticeToken("demo-zh"), nil)
	got := s.Get(t, c, "/verify", nil).Doc.Find(".method").First().Text()
	if want := tr.Tf("verify.phone.to_masked", map[string]any{"Target": "138****8001"}); !strings.Contains(got, want) {
		t.Errorf("after the notice link /verify says %q, want %q", got, want)
	}
}
