// Package testsupport starts the real things tests need — databases, a browser, an SMTP server —
// and cleans up after them. With CI=true a missing dependency fails the test instead of skipping
// it. It sits below web and views and imports neither; the portal's test server is web/webtest.
package testsupport

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

// Unavailable fails the test in CI, and skips it elsewhere, saying why.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: "+format, args...)
	}
	t.Skipf("skipped outside CI: "+format, args...)
}
