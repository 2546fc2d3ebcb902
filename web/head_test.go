package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smsretire/smsretire/web/webtest"
)

// TestHead_AnswersLikeGetWithoutABody sends HEAD and then GET on one connection: the HEAD answer
// has the page's status and headers and no body, so the GET's answer is the next thing read.
func TestHead_AnswersLikeGetWithoutABody(t *testing.T) {
	s := webtest.NewServer(t)
	for _, path := range []string{"/", "/faq", "/no/such/page", "/static/css/app.css"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "HEAD "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			head, err := http.ReadResponse(br, &http.Request{Method: http.MethodHead})
			if err != nil {
				t.Fatalf("HEAD: %v", err)
			}
			head.Body.Close()
			get := s.Get(t, s.Client(), path, nil)
			if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
				t.Errorf("HEAD: %d %q, GET: %d %q", head.StatusCode, head.Header.Get("Content-Type"), get.StatusCode, get.Header.Get("Content-Type"))
			}
			next, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
			if err != nil {
				t.Fatalf("the answer after HEAD: %v (the HEAD answer carried a body)", err)
			}
			body, _ := io.ReadAll(next.Body)
			next.Body.Close()
			if next.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
				t.Errorf("the answer after HEAD: %d %.80q, want the health check", next.StatusCode, body)
			}
		})
	}
}
