package web

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
)

// HTTPServer is net/http's server for the portal, with the configured timeouts, that knows the
// requests in progress, so that a shutdown that runs out of time can say which requests it cut.
type HTTPServer struct {
	*http.Server
	e *echo.Echo

	mu     sync.Mutex
	active map[*activeRequest]struct{}
}

type activeRequest struct {
	method, path, id string
	start            time.Time
}

// CutRequest is a request still running when a shutdown's grace ran out.
type CutRequest struct {
	Method    string
	Route     string // the route's pattern, such as /notice/:token, so that no token is logged
	RequestID string // as in the access log and the X-Request-Id the client was to get
	Running   time.Duration
}

// Server wraps the Echo handler in an HTTPServer with the configured timeouts.
func Server(cfg config.Config, e *echo.Echo) *HTTPServer {
	s := &HTTPServer{e: e, active: map[*activeRequest]struct{}{}}
	s.Server = &http.Server{
		Addr:              cfg.Addr,
		Handler:           http.HandlerFunc(s.track),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

// track serves a request through Echo and keeps it in the list of requests in progress. It gives
// the request its ID here (unless the client sent one), which Echo's RequestID middleware then
// takes, so the list and the access log name a request alike.
func (s *HTTPServer) track(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(echo.HeaderXRequestID)
	if id == "" {
		id = rand.Text()
		r.Header.Set(echo.HeaderXRequestID, id)
	}
	a := &activeRequest{method: r.Method, path: r.URL.Path, id: id, start: time.Now()}
	s.mu.Lock()
	s.active[a] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.active, a)
		s.mu.Unlock()
	}()
	s.e.ServeHTTP(w, r)
}

// Drain stops accepting connections and waits, until ctx ends, for the requests in progress to
// finish. When ctx ends first it closes the connections of the requests left, which are cut, and
// returns them for the log: the drain did its best, and the process may still stop cleanly.
// The error is any other trouble in closing the listeners.
func (s *HTTPServer) Drain(ctx context.Context) ([]CutRequest, error) {
	err := s.Shutdown(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	cut := make([]CutRequest, 0, len(s.active))
	for a := range s.active {
		cut = append(cut, CutRequest{Method: a.method, Route: s.route(a.method, a.path), RequestID: a.id, Running: now.Sub(a.start)})
	}
	s.mu.Unlock()
	return cut, s.Close()
}

// route returns the pattern of the route that serves method and path.
func (s *HTTPServer) route(method, path string) string {
	probe := s.e.NewContext(nil, nil)
	s.e.Router().Find(method, path, probe)
	if p := probe.Path(); p != "" {
		return p
	}
	return "(no route)"
}
