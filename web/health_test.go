package web_test

import (
	"context"
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

// A database that answers but refuses writes (a full disk, a read-only replica) is not ready:
// /readyz writes a row to know, and answers 503 until writes work again.
func TestReadyz_FalseWhileTheDatabaseRefusesWrites(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	if r := s.Get(t, c, "/readyz", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d on a healthy database, want 200", r.StatusCode)
	}
	for _, q := range []string{
		`CREATE TRIGGER full_insert BEFORE INSERT ON heartbeat BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
		`CREATE TRIGGER full_update BEFORE UPDATE ON heartbeat BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
	} {
		if _, err := s.Store.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store.Ping(context.Background()); err != nil {
		t.Fatalf("the database no longer answers: %v", err)
	}
	r := s.Get(t, c, "/readyz", nil)
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil || r.StatusCode != http.StatusServiceUnavailable || body["database"] != "refuses writes" {
		t.Fatalf("readyz while writes fail: %d %s (%v), want 503 refuses writes", r.StatusCode, r.Body, err)
	}
	for _, q := range []string{`DROP TRIGGER full_insert`, `DROP TRIGGER full_update`} {
		if _, err := s.Store.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if r := s.Get(t, c, "/readyz", nil); r.StatusCode != http.StatusOK {
		t.Errorf("status %d after writes work again, want 200", r.StatusCode)
	}
}
