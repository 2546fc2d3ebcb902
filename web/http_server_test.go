package web_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/web"
)

// A request that outlives the shutdown's grace is cut and named — method, route pattern (no
// token), request ID — while a drain with nothing running cuts nothing.
func TestDrain_NamesTheRequestsItCut(t *testing.T) {
	e := echo.New()
	started, release := make(chan string, 1), make(chan struct{})
	defer close(release)
	e.GET("/slow/:token", func(c echo.Context) error {
		started <- c.Request().Header.Get(echo.HeaderXRequestID)
		select {
		case <-release:
		case <-c.Request().Context().Done():
		}
		return c.NoContent(http.StatusOK)
	})
	e.GET("/fast", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	serve := func() (*web.HTTPServer, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := web.Server(config.Default(), e)
		go srv.Serve(ln)
		return srv, "http://" + ln.Addr().String()
	}

	srv, url := serve()
	if resp, err := http.Get(url + "/fast"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fast: %v", err)
	}
	if cut, err := srv.Drain(context.Background()); err != nil || len(cut) != 0 {
		t.Fatalf("idle drain cut %v, %v", cut, err)
	}

	srv, url = serve()
	failed := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/slow/secret-token")
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	id := <-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cut, err := srv.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cut) != 1 || cut[0].Method != http.MethodGet || cut[0].Route != "/slow/:token" || cut[0].RequestID != id || id == "" || cut[0].Running <= 0 {
		t.Fatalf("cut %+v, want the slow request %q", cut, id)
	}
	if err := <-failed; err == nil {
		t.Error("the cut request got an answer")
	}
}
