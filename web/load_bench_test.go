package web_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/smsretire/smsretire/internal/app"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/testsupport"
	"github.com/smsretire/smsretire/web/webtest"
)

// loadConns is how many connections the load generator keeps busy, as `wrk -c64` does.
const loadConns = 64

// loadFor is how long each page is measured, after a warm-up of a fifth of that. Set
// SMSRETIRE_LOAD_SECONDS to measure longer.
func loadFor() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SMSRETIRE_LOAD_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 3 * time.Second
}

// BenchmarkPageLoad measures the portal's pages under load, beside a bare Echo v4 handler that
// answers "hello", measured in the same run on the same machine: 64 keep-alive connections on
// 127.0.0.1 send requests back to back for a few seconds per page (a small HTTP/1.1 client in
// this process, cheaper than net/http's, as wrk is), with a phone browser's headers. Pages: home,
// FAQ, a notice viewed again with its cookie, a static file (brotli, as browsers accept it), and a
// notice's first open without a cookie (a session cookie and a history row written; each request
// opens another user's link). On SQLite and PostgreSQL. Metrics: req/s, ratio (to bare Echo in
// the same run), p50-ms and p99-ms of the latency, and cpu-µs/req: this process's CPU time per
// response (server, SQLite and load generator; PostgreSQL's processes not counted), which other
// load on the machine changes far less than the rates.
func BenchmarkPageLoad(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			s := loadServer(b, db)
			bare := bareEcho(b)
			ctx := context.Background()
			const users = 2000
			entries := make([]campaign.RosterEntry, users)
			for i := range entries {
				entries[i] = campaign.RosterEntry{ID: fmt.Sprintf("load%05d", i), Phone: fmt.Sprintf("+86139%08d", i),
					Email: fmt.Sprintf("load%05d@example.com", i), Locale: "zh-Hans", Deadline: campaign.DateOf(s.Clock.Now().AddDate(0, 1, 0), time.UTC)}
			}
			if _, err := s.Store.UpsertUsers(ctx, entries, s.Clock.Now()); err != nil {
				b.Fatal(err)
			}
			host := strings.TrimPrefix(s.URL, "http://")
			get := func(path, cookie string) []byte { return loadRequest(host, path, cookie) }

			// A cookie per connection for the notice viewed again, from a first open of its own.
			again := make([][]byte, loadConns)
			for i := range again {
				path := "/notice/" + s.NoticeToken(entries[i].ID)
				c := s.Client()
				if r := s.Get(b, c, path, nil); r.StatusCode != http.StatusOK {
					b.Fatalf("notice: %d", r.StatusCode)
				}
				u, _ := url.Parse(s.URL)
				var cookies []string
				for _, ck := range c.Jar.Cookies(u) {
					cookies = append(cookies, ck.Name+"="+ck.Value)
				}
				again[i] = get(path, strings.Join(cookies, "; "))
			}
			first := make([][]byte, users)
			for i := range first {
				first[i] = get("/notice/"+s.NoticeToken(entries[i].ID), "")
			}
			home := s.Get(b, s.Client(), "/", nil)
			css := regexp.MustCompile(`/static/[^"]+/css/app\.css`).Find(home.Body)
			if css == nil {
				b.Fatal("no stylesheet on the home page")
			}
			staticReq := bytes.Replace(get(string(css), ""), []byte("\r\n\r\n"), []byte("\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n"), 1)

			pages := []struct {
				name string
				addr string
				reqs [][]byte
			}{
				{"bare-echo", bare, [][]byte{loadRequest(bare, "/", "")}},
				{"home", host, [][]byte{get("/", "")}},
				{"faq", host, [][]byte{get("/faq", "")}},
				{"notice-again", host, again},
				{"static", host, [][]byte{staticReq}},
				{"notice-first", host, first},
			}
			var bareRate float64
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					r := hammer(b, p.addr, p.reqs, loadConns, loadFor())
					if p.name == "bare-echo" {
						bareRate = r.rate
					}
					b.ReportMetric(r.rate, "req/s")
					if bareRate > 0 {
						b.ReportMetric(r.rate/bareRate, "ratio")
					}
					b.ReportMetric(r.p50, "p50-ms")
					b.ReportMetric(r.p99, "p99-ms")
					b.ReportMetric(r.cpu, "cpu-µs/req")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}

// loadServer is the portal as serve builds it, on db, logging requests as serve does (JSON at
// INFO) but into nothing.
func loadServer(b *testing.B, db string) *webtest.Server {
	opts := []webtest.ServerOption{
		webtest.WithoutDemoUsers(),
		webtest.WithParts(func(p *app.Parts) { p.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) }),
	}
	if db == "postgres" {
		opts = append(opts, webtest.WithStore(testsupport.Postgres(b)))
	}
	return webtest.NewServer(b, opts...)
}

// bareEcho serves Echo v4 with one handler that answers "hello" on 127.0.0.1, and returns its
// host:port.
func bareEcho(b *testing.B) string {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// loadRequest is a GET of path as a phone browser sends it, with cookie when not empty.
func loadRequest(host, path, cookie string) []byte {
	var r strings.Builder
	fmt.Fprintf(&r, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	r.WriteString("User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1\r\n")
	r.WriteString("Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n")
	r.WriteString("Accept-Language: zh-CN,zh-Hans;q=0.9\r\n")
	if cookie != "" {
		r.WriteString("Cookie: " + cookie + "\r\n")
	}
	r.WriteString("\r\n")
	return []byte(r.String())
}

// loadResult is what one page's run measured.
type loadResult struct {
	rate     float64 // responses per second
	p50, p99 float64 // latency, ms
	cpu      float64 // CPU time of this process (server and load generator) per response, µs
}

// hammer sends reqs in turn over conns keep-alive connections to addr, each connection starting
// at its own request, for a warm-up and then d, and measures every response. Any answer but 200
// fails the benchmark.
func hammer(b *testing.B, addr string, reqs [][]byte, conns int, d time.Duration) loadResult {
	b.Helper()
	run := func(d time.Duration, measure bool) ([]time.Duration, time.Duration) {
		var mu sync.Mutex
		var all []time.Duration
		var failed error
		start := time.Now()
		stop := start.Add(d)
		var wg sync.WaitGroup
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lat, err := loadConn(addr, reqs, i, stop)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && failed == nil {
					failed = err
				}
				if measure {
					all = append(all, lat...)
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			b.Fatal(failed)
		}
		return all, time.Since(start)
	}
	run(d/5, false)
	cpu0 := processCPU()
	lat, elapsed := run(d, true)
	cpu := processCPU() - cpu0
	if len(lat) == 0 {
		b.Fatal("no responses")
	}
	slices.Sort(lat)
	ms := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	return loadResult{rate: float64(len(lat)) / elapsed.Seconds(), p50: ms(0.5), p99: ms(0.99),
		cpu: float64(cpu) / float64(time.Microsecond) / float64(len(lat))}
}

// loadConn sends requests over one connection until stop and returns each one's latency.
func loadConn(addr string, reqs [][]byte, next int, stop time.Time) ([]time.Duration, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rd := bufio.NewReaderSize(conn, 32<<10)
	lat := make([]time.Duration, 0, 4096)
	for {
		t := time.Now()
		if t.After(stop) {
			return lat, nil
		}
		req := reqs[next%len(reqs)]
		next++
		if _, err := conn.Write(req); err != nil {
			return lat, err
		}
		status, err := readResponse(rd)
		if err != nil {
			return lat, err
		}
		if status != http.StatusOK {
			return lat, fmt.Errorf("%s: status %d", bytes.SplitN(req, []byte("\r\n"), 2)[0], status)
		}
		lat = append(lat, time.Since(t))
	}
}

// readResponse reads one HTTP/1.1 response, its body by Content-Length or chunked, and returns
// its status.
func readResponse(rd *bufio.Reader) (int, error) {
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, err
	}
	length, chunked := -1, false
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	if !chunked {
		if length < 0 {
			return 0, errors.New("response without a length")
		}
		_, err := rd.Discard(length)
		return status, err
	}
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		size, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("chunk size %q: %w", line, err)
		}
		if _, err := rd.Discard(int(size) + 2); err != nil {
			return 0, err
		}
		if size == 0 {
			return status, nil
		}
	}
}
