package testsupport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// HTMLMessage is one message of the Nu HTML checker about one file.
type HTMLMessage struct {
	File    string // the file's path relative to the checked directory
	Type    string // "error", "info" or "non-document-error"
	SubType string // "warning" for an info message that is one, "fatal" for an error that stopped the check
	Message string
	Line    int
	Extract string // the markup around it
}

// Error reports whether the message is an error, which makes a document invalid.
func (m HTMLMessage) Error() bool { return m.Type == "error" || m.Type == "non-document-error" }

// String writes the message for a test failure.
func (m HTMLMessage) String() string {
	kind := m.Type
	if m.SubType != "" {
		kind = m.SubType
	}
	return fmt.Sprintf("%s:%d: %s: %s\n    %s", m.File, m.Line, kind, m.Message, strings.ReplaceAll(m.Extract, "\n", "↵"))
}

// CheckHTML runs the Nu HTML checker (vnu.jar, installed from npm by package-lock.json) once over
// every .html file under dir and returns its messages. The checker runs on Java and takes a few
// seconds to start, so a test collects its pages first and checks them in one go. Without Java or
// vnu.jar the test fails in CI and skips elsewhere.
func CheckHTML(t testing.TB, dir string) []HTMLMessage {
	t.Helper()
	java, err := exec.LookPath("java")
	if err != nil {
		Unavailable(t, "java not found (apt-get install default-jre-headless): %v", err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	jar := filepath.Join(root, "node_modules", "vnu-jar", "build", "dist", "vnu.jar")
	if _, err := os.Stat(jar); err != nil {
		Unavailable(t, "vnu.jar: %v (run `make vendor` or `npm ci`)", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(java, "-jar", jar, "--format", "json", "--stdout", "--exit-zero-always", "--skip-non-html", abs)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run the Nu HTML checker: %v\n%s", err, stderr.String())
	}
	var out struct {
		Messages []struct {
			Type     string `json:"type"`
			SubType  string `json:"subType"`
			URL      string `json:"url"`
			Message  string `json:"message"`
			LastLine int    `json:"lastLine"`
			Extract  string `json:"extract"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("read the Nu HTML checker's answer: %v\n%.2000s\n%s", err, stdout.String(), stderr.String())
	}
	msgs := make([]HTMLMessage, 0, len(out.Messages))
	for _, m := range out.Messages {
		file := m.URL
		if u, err := url.Parse(m.URL); err == nil && u.Scheme == "file" {
			if rel, err := filepath.Rel(abs, u.Path); err == nil {
				file = rel
			}
		}
		msgs = append(msgs, HTMLMessage{File: file, Type: m.Type, SubType: m.SubType, Message: m.Message, Line: m.LastLine, Extract: m.Extract})
	}
	return msgs
}
