package web

import (
	"testing"

	"github.com/labstack/echo/v4"
)

// reverse fills a path as Echo's Reverse does, for every kind of route.
func TestReverse_AsEcho(t *testing.T) {
	e := echo.New()
	noop := func(echo.Context) error { return nil }
	cases := []struct {
		path   string
		params []any
	}{
		{"/plain", nil},
		{"/factors/:id/rename", []any{int64(42)}},
		{"/factors/:id/rename", nil},
		{"/static/*", []any{"v1/css/app.css"}},
		{"/a/:x/b/:y", []any{"one", 2}},
		{"/a/:x/b/:y", []any{"only"}},
		{`/time\:now/:id`, []any{"7"}},
	}
	for i, c := range cases {
		name := string(rune('a' + i))
		e.GET(c.path, noop).Name = name
		if got, want := reverse(c.path, c.params), e.Reverse(name, c.params...); got != want {
			t.Errorf("reverse(%q, %v) = %q, Echo says %q", c.path, c.params, got, want)
		}
	}
}
