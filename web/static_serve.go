package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsretire/smsretire/static"
)

// staticServe serves the embedded static files under prefix, their route's path, as they were
// compressed at startup, brotli or gzip as the browser accepts, never compressing per request. Under the current version's
// URLs (/static/VERSION/css/app.css) a file is cached for a year as immutable; elsewhere (no
// version, or an older one during a deploy) the browser revalidates it by its strong ETag.
func staticServe(set *static.Set, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		versioned := false
		if first, rest, ok := strings.Cut(name, "/"); ok && isVersion(first) {
			name, versioned = rest, first == set.Version
		}
		f, ok := set.Open(name)
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Add("Vary", "Accept-Encoding")
		if versioned {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, no-cache")
		}
		body, etag := f.Plain, f.Hash
		switch ae := r.Header.Get("Accept-Encoding"); {
		case f.Brotli != nil && acceptsEncoding(ae, "br"):
			body, etag = f.Brotli, f.Hash+".br"
			h.Set("Content-Encoding", "br")
		case f.Gzip != nil && acceptsEncoding(ae, "gzip"):
			body, etag = f.Gzip, f.Hash+".gz"
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", strconv.Quote(etag))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

// isVersion reports whether a path segment has the form of static.Set's Version: 12 hex digits.
func isVersion(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// acceptsEncoding reports whether an Accept-Encoding header accepts coding: named, or matched by
// "*", with a quality above zero.
func acceptsEncoding(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		ok := true
		for _, p := range strings.Split(params, ";") {
			if k, v, found := strings.Cut(strings.TrimSpace(p), "="); found && strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				ok = err == nil && q > 0
			}
		}
		switch {
		case strings.EqualFold(name, coding):
			return ok
		case name == "*":
			star = ok
		}
	}
	return star
}
