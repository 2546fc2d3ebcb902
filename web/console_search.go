package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/support"
	"github.com/smsretire/smsretire/views"
)

// consoleSearchShow shows the search form.
func (h *handler) consoleSearchShow(c echo.Context) error {
	return render(c, http.StatusOK, views.ConsoleSearch(views.ConsoleSearchPage{ConsoleContext: h.consoleContext(c, "search")}))
}

// consoleSearch finds users by account ID, phone number or email address. The query is posted,
// so no phone number or address lands in a URL, a log or the browser's history; one match opens
// the user's page.
func (h *handler) consoleSearch(c echo.Context) error {
	m := views.ConsoleSearchPage{ConsoleContext: h.consoleContext(c, "search"), Query: c.FormValue("q")}
	by, found, err := h.app.Support.Search(h.ctx(c), staffOf(c), client(c), m.Query)
	if errors.Is(err, support.ErrQuery) {
		m.Errors = views.Errors{{Field: "q", Message: m.T.T("console.err.query")}}
		return render(c, http.StatusUnprocessableEntity, views.ConsoleSearch(m))
	}
	if err != nil {
		return consoleFailure(err)
	}
	if len(found) == 1 {
		return redirect(c, h.path(views.RouteConsoleUser, found[0].ID))
	}
	m.Searched, m.By = true, string(by)
	for _, p := range found {
		m.Results = append(m.Results, consolePerson(p))
	}
	return render(c, http.StatusOK, views.ConsoleSearch(m))
}
