package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// A route group's frame rule replaces the site's: partners' origins in frame-ancestors and no
// X-Frame-Options, which cannot name them; without origins nothing may frame the page.
func TestFrameAncestors_ReplacesTheSitesRuleForAGroup(t *testing.T) {
	for _, tc := range []struct {
		origins  []string
		xfoKept  bool
		checkCSP string
	}{
		{nil, true, "frame-ancestors 'none'"},
		{[]string{"https://partner.example", "https://other.example"}, false, "frame-ancestors https://partner.example https://other.example"},
	} {
		e := echo.New()
		rec := httptest.NewRecorder()
		c := e.NewContext(httptest.NewRequest(http.MethodGet, "/embed/x", nil), rec)
		rec.Header().Set("Content-Security-Policy", contentSecurityPolicy("'none'"))
		rec.Header().Set("X-Frame-Options", "DENY")
		h := &handler{}
		err := h.frameAncestors(tc.origins)(func(c echo.Context) error { return c.NoContent(http.StatusOK) })(c)
		if err != nil {
			t.Fatal(err)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, tc.checkCSP) || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("origins %v: CSP %q", tc.origins, csp)
		}
		if got := rec.Header().Get("X-Frame-Options"); (got == "DENY") != tc.xfoKept {
			t.Errorf("origins %v: X-Frame-Options %q", tc.origins, got)
		}
	}
}
