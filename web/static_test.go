package web_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

func TestStatic_ServesHtmxFromNpm(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.Get(t, s.Client(), "/static/vendor/htmx.min.js", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 (run make vendor)", r.StatusCode)
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q, want JavaScript", ct)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("static files are sent without nosniff")
	}
	root, err := testsupport.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	npm, err := os.ReadFile(filepath.Join(root, "node_modules", "htmx.org", "dist", "htmx.min.js"))
	if err != nil {
		testsupport.Unavailable(t, "node_modules/htmx.org: %v (run make vendor)", err)
	}
	if !bytes.Equal(r.Body, npm) {
		t.Error("the served htmx.min.js is not the one npm installed from package-lock.json (run make vendor)")
	}
}

func TestStatic_CachesVersionedURLsLong(t *testing.T) {
	s := webtest.NewServer(t)
	c := s.Client()
	tests := []struct {
		path, wantCache string
	}{
		{"/static/css/app.css?v=abc123", "public, max-age=31536000, immutable"},
		{"/static/css/app.css", "public, max-age=300"},
	}
	for _, tt := range tests {
		r := s.Get(t, c, tt.path, nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", tt.path, r.StatusCode)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("%s: Content-Type %q, want text/css", tt.path, ct)
		}
		if got := r.Header.Get("Cache-Control"); got != tt.wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.wantCache)
		}
	}
	for _, path := range []string{"/static/", "/static/css/", "/static/../go.mod", "/static/css/nope.css"} {
		if r := s.Get(t, c, path, nil); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMovedPermanently {
			t.Errorf("%s: status %d, want 404", path, r.StatusCode)
		}
	}
}
