package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freePortPair finds a port p on 127.0.0.1 with p+1 and p+2 free too: the portal's, the shop's
// and the demo partner site's.
func freePortPair(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		var c net.Listener
		if err == nil {
			c, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+2))
			b.Close()
		}
		a.Close()
		if err == nil {
			c.Close()
			return p
		}
	}
	t.Fatal("no three free ports in a row")
	return 0
}

// With --demo, serve runs the example shop on the port after the portal's, prints its URL, and the
// shop's sign-in leads to the portal's provider with PKCE.
func TestServe_DemoRunsTheExampleShop(t *testing.T) {
	dir := t.TempDir()
	port := freePortPair(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:" + strconv.Itoa(port), "--data-dir", dir,
			"--database-url", "sqlite:" + filepath.Join(dir, "portal.db")}, &stdout, &stderr, func(string) string { return "" })
	}()
	shopURL := "http://localhost:" + strconv.Itoa(port+1)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), shopURL); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not print the shop's URL %s:\n%s", shopURL, stdout.String())
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(shopURL + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("shop home: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = client.Post(shopURL+"/login", "application/x-www-form-urlencoded", strings.NewReader("login_hint=demo-zh"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	want := "http://localhost:" + strconv.Itoa(port) + "/oidc/authorize?"
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, want) || !strings.Contains(loc, "code_challenge_method=S256") ||
		!strings.Contains(loc, "client_id=example-shop") {
		t.Errorf("shop sign-in: %d to %q, want the provider's authorization endpoint with PKCE", resp.StatusCode, loc)
	}

	// The demo partner site, on another site than the portal (127.0.0.1, the portal being
	// localhost), frames the portal with a launch signed just now.
	partnerURL := "http://127.0.0.1:" + strconv.Itoa(port+2)
	if !strings.Contains(stdout.String(), partnerURL) {
		t.Errorf("serve does not print the partner site's URL %s:\n%s", partnerURL, stdout.String())
	}
	resp, err = client.Get(partnerURL + "/?user=demo-zh")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="http://localhost:`+strconv.Itoa(port)+`/embed/launch?partner=demo-partner&amp;token=`) ||
		!strings.Contains(string(body), `allow="publickey-credentials-create; publickey-credentials-get"`) {
		t.Errorf("partner page: %d\n%s", resp.StatusCode, body)
	}

	// The demo's console administrator gets a one-time setup link that opens the setup page.
	setup := regexp.MustCompile(`http://localhost:` + strconv.Itoa(port) + `/staff/setup/\S+`).FindString(stdout.String())
	if setup == "" {
		t.Errorf("serve prints no setup link for the demo's console administrator:\n%s", stdout.String())
	} else if resp, err = client.Get(setup); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("demo staff setup link %s: %v %v", setup, resp, err)
	} else {
		resp.Body.Close()
	}
	stop()
	if code := <-exit; code != 0 {
		t.Errorf("serve exited %d", code)
	}
}
