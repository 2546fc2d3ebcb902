package web

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a templ component with a status, through a pooled buffer so that a rendering
// error never leaves half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer buffers.Put(buf)
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// redirect answers a successful form post with 303 See Other (post/redirect/get). An htmx
// request gets HX-Redirect instead, so the browser loads the whole next page rather than
// swapping it into a fragment.
// Inside a partner's frame, a path with an embedded twin leads to the twin.
func redirect(c echo.Context, to string) error {
	if embedded, ok := c.Get(ctxEmbedRedirect).(func(string) string); ok {
		to = embedded(to)
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
