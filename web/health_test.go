package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/web/webtest"
)

func TestHealthz_Answers200JSON(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.Get(t, s.Client(), "/healthz", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", r.StatusCode)
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil || body["status"] != "ok" {
		t.Errorf("body %q: want JSON with status ok (%v)", r.Body, err)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

func TestReadyz_FollowsTheDatabase(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	r := s.Get(t, c, "/readyz", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d with the database up, want 200", r.StatusCode)
	}
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r = s.Get(t, c, "/readyz", nil)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d with the database closed, want 503", r.StatusCode)
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil || body["status"] == "ok" {
		t.Errorf("body %q: want JSON that is not ok (%v)", r.Body, err)
	}
	if got := s.Get(t, c, "/healthz", nil).StatusCode; got != http.StatusOK {
		t.Errorf("/healthz %d while the database is down, want 200: the process still runs", got)
	}
}
