package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/web/webtest"
)

// logBuffer collects the server's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// requests returns the access log's lines.
func (b *logBuffer) requests(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// The access log tells what the client got: a handler error turned into a 500 page logs 500 at
// ERROR, a 404 logs 404 at WARN, each with the request ID the client saw.
func TestAccessLog_RecordsTheStatusTheClientGot(t *testing.T) {
	logs := &logBuffer{}
	s := webtest.NewServer(t, webtest.WithParts(func(p *app.Parts) {
		p.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	c := s.Client()
	missing := s.Get(t, c, "/no/such/page", nil)
	if err := s.Store.Close(); err != nil { // every query fails from now on
		t.Fatal(err)
	}
	failed := s.Get(t, c, "/notice/"+s.NoticeToken("demo-zh"), nil)
	if failed.StatusCode != http.StatusInternalServerError {
		t.Fatalf("notice with the database closed: %d, want 500", failed.StatusCode)
	}
	lines := logs.requests(t)
	find := func(id string) map[string]any {
		t.Helper()
		for _, l := range lines {
			if l["request_id"] == id {
				return l
			}
		}
		t.Fatalf("no access log line with request_id %q in %v", id, lines)
		return nil
	}
	for _, c := range []struct {
		r      *webtest.Response
		status float64
		level  string
		path   string
	}{
		{failed, 500, "ERROR", "/notice/:token"},
		{missing, 404, "WARN", "/no/such/page"},
	} {
		id := c.r.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatal("no X-Request-Id")
		}
		l := find(id)
		if l["status"] != c.status || l["level"] != c.level || l["path"] != c.path {
			t.Errorf("log line %v, want status %v at %s for %s", l, c.status, c.level, c.path)
		}
	}
	if l := find(failed.Header.Get("X-Request-Id")); l["err"] == nil || l["err"] == "" {
		t.Errorf("the 500's line does not say what failed: %v", l)
	}
}
