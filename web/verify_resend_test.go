package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestVerifyResend_HTMXSwapsTheResendBlockOnly(t *testing.T) {
	srv := fastServer(t)
	c := srv.Client()
	srv.Get(t, c, "/notice/"+srv.NoticeToken("demo-en"), nil)
	if r := srv.PostForm(t, c, "/verify/code/send", url.Values{"channel": {"phone"}}, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d", r.StatusCode)
	}
	hx := http.Header{"HX-Request": {"true"}, "HX-Request-Type": {"partial"}}
	resend := url.Values{"channel": {"phone"}, "resend": {"1"}}

	early := srv.PostForm(t, c, "/verify/code/send", resend, hx)
	if early.StatusCode != http.StatusTooManyRequests || strings.Contains(string(early.Body), "<html") {
		t.Fatalf("early resend: %d, %.80s", early.StatusCode, early.Body)
	}
	if !strings.Contains(early.Doc.Find("#resend .alert-error").Text(), "seconds") {
		t.Fatalf("early resend says %q", early.Doc.Find("#resend").Text())
	}

	srv.Clock.Advance(61 * time.Second)
	r := srv.PostForm(t, c, "/verify/code/send", resend, hx)
	if r.StatusCode != http.StatusOK || strings.Contains(string(r.Body), "<html") || r.Doc.Find("#resend").Length() != 1 {
		t.Fatalf("resend: %d, %.80s", r.StatusCode, r.Body)
	}
	if r.Doc.Find("#resend [role=status]").Length() != 1 {
		t.Error("no note that a new code was sent")
	}
	if v, _ := r.Doc.Find("#resend button").Attr("data-resend-in"); v != "60" {
		t.Errorf("countdown = %q, want 60", v)
	}
}
