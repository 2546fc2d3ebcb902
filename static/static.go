// Package static holds the portal's CSS, scripts and images, embedded into the binary. The
// vendor folder is filled from npm at build time (make vendor).
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

//go:embed css js img all:vendor
var files embed.FS

// FS returns the static files.
func FS() fs.FS { return files }

// Set is the static files ready to serve: each with a strong ETag from its content and, where
// compression makes it smaller, its gzip and brotli forms, compressed once when the set is built.
type Set struct {
	// Version is a hash of every file's name and content; versioned URLs start with it, so a
	// changed file gets new URLs (relative imports between scripts included) and the old ones
	// may be cached for ever.
	Version string
	files   map[string]*File
}

// File is one static file and its compressed forms.
type File struct {
	Name        string // the path below static/, such as css/app.css
	ContentType string
	Hash        string // hex SHA-256 of the content, shortened; the base of the ETags
	Plain       []byte
	Gzip        []byte // nil when gzip does not make the file smaller
	Brotli      []byte // nil when brotli does not make the file smaller
}

// Files returns the static files ready to serve, built (hashed and compressed) once per process,
// as the embedded files cannot change while it runs.
func Files() (*Set, error) { return built() }

var built = sync.OnceValues(build)

// Open returns the file at name, a path below static/ such as css/app.css.
func (s *Set) Open(name string) (*File, bool) {
	f, ok := s.files[name]
	return f, ok
}

func build() (*Set, error) {
	set := &Set{files: map[string]*File{}}
	all := sha256.New()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
			return err
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		f, err := prepare(name, b)
		if err != nil {
			return fmt.Errorf("static %s: %w", name, err)
		}
		set.files[name] = f
		all.Write([]byte(name))
		all.Write([]byte{0})
		all.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	set.Version = hex.EncodeToString(all.Sum(nil))[:12]
	return set, nil
}

// prepare hashes one file and compresses it at the best levels, which costs time once and
// saves bytes on every download.
func prepare(name string, b []byte) (*File, error) {
	sum := sha256.Sum256(b)
	f := &File{Name: name, ContentType: mime.TypeByExtension(path.Ext(name)), Hash: hex.EncodeToString(sum[:])[:20], Plain: b}
	if f.ContentType == "" {
		f.ContentType = "application/octet-stream"
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if gz.Len() < len(b) {
		f.Gzip = gz.Bytes()
	}
	var br bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	if _, err := bw.Write(b); err != nil {
		return nil, err
	}
	if err := bw.Close(); err != nil {
		return nil, err
	}
	if br.Len() < len(b) {
		f.Brotli = br.Bytes()
	}
	return f, nil
}
