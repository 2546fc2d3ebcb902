package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/testsupport"
)

// syncBuffer is an io.Writer that serve writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLine returns the first JSON log line with message msg, or nil.
func (s *syncBuffer) logLine(msg string) map[string]any {
	for _, line := range strings.Split(s.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

// A request that outlives --shutdown-grace is cut and named in the log, and serve still exits 0:
// the drain did its best. The request is a form post whose body never comes: the server has
// asked for it (100 Continue), so its handler is running when the signal arrives.
func TestServe_CutsARequestLongerThanTheGraceAndExitsZero(t *testing.T) {
	dir := t.TempDir()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir,
			"--database-url", "sqlite:" + filepath.Join(dir, "portal.db"), "--shutdown-grace", "200ms"},
			&stdout, &stderr, func(string) string { return "" })
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if l := stderr.logLine("listening"); l != nil {
			addr, _ = l["addr"].(string)
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d before listening:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not listen:\n%s", stderr.String())
		}
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte("POST /find HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: 20\r\nExpect: 100-continue\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "100 Continue") {
		t.Fatalf("the server did not ask for the body: %q, %v", status, err)
	}

	stop() // SIGTERM
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d after a drain that cut a request, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	cut := stderr.logLine("request cut at shutdown: it ran longer than --shutdown-grace")
	if cut == nil || cut["level"] != "WARN" || cut["method"] != "POST" || cut["path"] != "/find" || cut["request_id"] == "" {
		t.Fatalf("log line of the cut request: %v\n%s", cut, stderr.String())
	}
	if stderr.logLine("stopped") == nil {
		t.Errorf("serve did not finish its shutdown:\n%s", stderr.String())
	}
}

// Regression: with smtp:// to a server without STARTTLS, serve started, pages said the code was
// sent, and mail was retried in silence. serve now refuses to start and says what to change.
func TestServe_RefusesSMTPSettingsThatCannotDeliver(t *testing.T) {
	plain := testsupport.StartSMTP(t, testsupport.SMTPOptions{NoTLS: true})
	smtpURL := "smtp://" + strings.TrimPrefix(strings.Split(plain.URL(), "?")[0], "smtp://")
	dir := t.TempDir()
	env := map[string]string{"SMSRETIRE_SMTP_URL": smtpURL}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--database-url", "sqlite:" + filepath.Join(dir, "s.db")},
		&out, &errOut, func(k string) string { return env[k] })
	if code == 0 || ctx.Err() != nil {
		t.Fatalf("serve exited %d (context %v), want a refusal; stdout %q", code, ctx.Err(), out.String())
	}
	for _, want := range []string{"--smtp-url", "STARTTLS", "smtps://", "starttls=off"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the refusal does not say %q: %s", want, errOut.String())
		}
	}
	if strings.Contains(out.String(), "is running") {
		t.Error("serve said it was running")
	}
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("the check sent %d messages", n)
	}
}
