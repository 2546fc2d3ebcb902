package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
)

// BenchmarkServePage measures one request through the whole server in this process (middleware,
// handler, page render; no network): the home page, the FAQ, a notice viewed again with its
// cookie (the session cookie decoded), and a static file. Metrics with allocations per request.
func BenchmarkServePage(b *testing.B) {
	s := loadServer(b, "sqlite")
	user := campaign.RosterEntry{ID: "render1", Phone: "+8613900000001", Email: "render1@example.com", Locale: "zh-Hans",
		Deadline: campaign.DateOf(s.Clock.Now().AddDate(0, 1, 0), time.UTC)}
	if _, err := s.Store.UpsertUsers(context.Background(), []campaign.RosterEntry{user}, s.Clock.Now()); err != nil {
		b.Fatal(err)
	}
	c := s.Client()
	notice := "/notice/" + s.NoticeToken(user.ID)
	if r := s.Get(b, c, notice, nil); r.StatusCode != http.StatusOK {
		b.Fatalf("notice: %d", r.StatusCode)
	}
	u, _ := url.Parse(s.URL)
	var cookies []string
	for _, ck := range c.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	home := s.Get(b, c, "/", nil)
	css := regexp.MustCompile(`/static/[^"]+/css/app\.css`).Find(home.Body)
	for _, p := range []struct{ name, path, cookie string }{
		{"home", "/", ""},
		{"faq", "/faq", ""},
		{"notice-again", notice, strings.Join(cookies, "; ")},
		{"static", string(css), ""},
	} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Header.Set("Accept-Language", "zh-CN,zh-Hans;q=0.9")
				req.Header.Set("Accept-Encoding", "gzip, deflate, br")
				req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
				if p.cookie != "" {
					req.Header.Set("Cookie", p.cookie)
				}
				rec := httptest.NewRecorder()
				s.Echo.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
			}
		})
	}
}
