package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/static"
	"github.com/smsretire/smsretire/web/webtest"
)

func TestStatic_ServesHtmxFromNpm(t *testing.T) {
	s := webtest.NewServer(t)
	r := s.Get(t, s.Client(), "/static/vendor/htmx.min.js", http.Header{"Accept-Encoding": {"identity"}})
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

// decode undoes a Content-Encoding.
func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

func TestStatic_SendsTheEncodingTheBrowserAccepts(t *testing.T) {
	s := webtest.NewServer(t)
	set, err := static.Files()
	if err != nil {
		t.Fatal(err)
	}
	css, _ := set.Open("css/app.css")
	path := "/static/" + set.Version + "/css/app.css"
	tests := []struct {
		acceptEncoding, want string
		precompressed        []byte
	}{
		{"gzip, deflate, br, zstd", "br", css.Brotli},
		{"br", "br", css.Brotli},
		{"gzip, deflate", "gzip", css.Gzip},
		{"GZIP;q=0.5, br;q=0", "gzip", css.Gzip},
		{"*", "br", css.Brotli},
		{"br;q=0, *;q=0.1", "gzip", css.Gzip},
		{"identity", "", css.Plain},
		{"gzip;q=0, br;q=0", "", css.Plain},
	}
	etags := map[string]string{}
	for _, tt := range tests {
		r := s.Get(t, s.Client(), path, http.Header{"Accept-Encoding": {tt.acceptEncoding}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%q: status %d", tt.acceptEncoding, r.StatusCode)
		}
		if got := r.Header.Get("Content-Encoding"); got != tt.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tt.acceptEncoding, got, tt.want)
			continue
		}
		if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: Vary %q, want Accept-Encoding", tt.acceptEncoding, r.Header.Get("Vary"))
		}
		// The bytes compressed once at startup, not a compression made for this request.
		if !bytes.Equal(r.Body, tt.precompressed) {
			t.Errorf("Accept-Encoding %q: the body is not the %q form compressed at startup", tt.acceptEncoding, tt.want)
		}
		if !bytes.Equal(decode(t, tt.want, r.Body), css.Plain) {
			t.Errorf("Accept-Encoding %q: the %q body does not decode to app.css", tt.acceptEncoding, tt.want)
		}
		etag := r.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
			t.Errorf("Accept-Encoding %q: ETag %q, want a strong one", tt.acceptEncoding, etag)
		}
		if other, ok := etags[etag]; ok && other != tt.want {
			t.Errorf("ETag %q names both the %q and the %q form", etag, other, tt.want)
		}
		etags[etag] = tt.want
	}
	if css.Brotli == nil || css.Gzip == nil || len(css.Brotli) >= len(css.Plain) || len(css.Gzip) >= len(css.Plain) {
		t.Errorf("app.css: %d bytes, gzip %d, brotli %d: want both smaller", len(css.Plain), len(css.Gzip), len(css.Brotli))
	}
}

func TestStatic_CachesVersionedURLsForEverAndRevalidatesTheRest(t *testing.T) {
	s := webtest.NewServer(t)
	set, err := static.Files()
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	br := http.Header{"Accept-Encoding": {"br"}}
	tests := []struct {
		path, wantCache string
	}{
		{"/static/" + set.Version + "/css/app.css", "public, max-age=31536000, immutable"},
		{"/static/" + set.Version + "/js/countdown.js", "public, max-age=31536000, immutable"}, // app.js imports it relatively
		{"/static/css/app.css", "public, no-cache"},
		{"/static/0123456789ab/css/app.css", "public, no-cache"}, // another version: a page of the deploy before
	}
	for _, tt := range tests {
		r := s.Get(t, c, tt.path, br)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", tt.path, r.StatusCode)
		}
		if got := r.Header.Get("Cache-Control"); got != tt.wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.wantCache)
		}
		etag := r.Header.Get("ETag")
		again := s.Get(t, c, tt.path, http.Header{"Accept-Encoding": {"br"}, "If-None-Match": {etag}})
		if again.StatusCode != http.StatusNotModified || len(again.Body) != 0 {
			t.Errorf("%s with If-None-Match %s: status %d, %d bytes, want 304 and nothing", tt.path, etag, again.StatusCode, len(again.Body))
		}
		if h := s.Do(t, c, http.MethodHead, tt.path, nil, br); h.StatusCode != http.StatusOK || len(h.Body) != 0 || h.Header.Get("ETag") != etag {
			t.Errorf("HEAD %s: status %d, %d bytes, ETag %q", tt.path, h.StatusCode, len(h.Body), h.Header.Get("ETag"))
		}
	}
	if ct := s.Get(t, c, "/static/"+set.Version+"/css/app.css", br).Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q, want text/css", ct)
	}
	for _, path := range []string{"/static/", "/static/css/", "/static/" + set.Version + "/", "/static/../go.mod", "/static/css/nope.css", "/static/" + set.Version + "/static.go"} {
		if r := s.Get(t, c, path, nil); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMovedPermanently {
			t.Errorf("%s: status %d, want 404", path, r.StatusCode)
		}
	}
}
