package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestFiles_CompressedFormsDecodeToTheFile(t *testing.T) {
	set, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Version) != 12 {
		t.Errorf("Version %q, want 12 hex digits", set.Version)
	}
	for _, name := range []string{"css/app.css", "js/app.js", "js/countdown.js", "js/passkey.js", "img/logo.svg"} {
		f, ok := set.Open(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		want, err := files.ReadFile(name)
		if err != nil || !bytes.Equal(f.Plain, want) {
			t.Fatalf("%s: plain form is not the file (%v)", name, err)
		}
		if f.Gzip == nil || f.Brotli == nil {
			t.Errorf("%s (%d bytes): gzip %d, brotli %d bytes: want both, smaller", name, len(f.Plain), len(f.Gzip), len(f.Brotli))
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(f.Gzip))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: gzip form does not decode to the file (%v)", name, err)
		}
		if got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(f.Brotli))); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: brotli form does not decode to the file (%v)", name, err)
		}
	}
	for _, name := range []string{"static.go", "vendor/.gitkeep"} {
		if _, ok := set.Open(name); ok {
			t.Errorf("%s is served", name)
		}
	}
}

func TestPrepare_KeepsOnlyFormsThatAreSmaller(t *testing.T) {
	f, err := prepare("x.txt", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Gzip != nil || f.Brotli != nil {
		t.Errorf("a 1-byte file kept gzip %d, brotli %d bytes", len(f.Gzip), len(f.Brotli))
	}
	a, _ := prepare("a.css", []byte("a{}"))
	b, _ := prepare("a.css", []byte("b{}"))
	if a.Hash == b.Hash {
		t.Error("two contents share a hash")
	}
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		if _, err := build(); err != nil {
			b.Fatal(err)
		}
	}
}
