package web

import (
	"testing"
	"time"
)

// BenchmarkQRImage measures drawing a QR sign-in code (the mask choice is most of it) against
// serving it again from qrImages, which every reload and refresh of the computer's page does.
func BenchmarkQRImage(b *testing.B) {
	content := "https://portal.example.cn/qr/AAAAAAAAAAAAAAAAAAAAAA"
	b.Run("draw", func(b *testing.B) {
		for b.Loop() {
			if _, err := qrPNG(content, 264); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		q := newQRImages()
		until := time.Now().Add(time.Hour)
		for b.Loop() {
			if _, err := q.dataURL(content, "AAAAAAAAAAAAAAAAAAAAAA", until); err != nil {
				b.Fatal(err)
			}
		}
	})
}
