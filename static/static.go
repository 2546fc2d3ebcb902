// Package static holds the portal's CSS, scripts and images, embedded into the binary. The
// vendor folder is filled from npm at build time (make vendor).
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed css js img all:vendor
var files embed.FS

// FS returns the static files.
func FS() fs.FS { return files }

// Version returns a short hash of every static file, for cache-busting asset URLs.
func Version() string {
	h := sha256.New()
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
