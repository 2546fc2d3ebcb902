package devbox_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/smsretire/smsretire/internal/devbox"
)

func texts(ms []devbox.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return fmt.Sprint(out)
}

func TestBox_KeepsTheNewestFirst(t *testing.T) {
	b := devbox.New(3)
	if got := b.List(); len(got) != 0 {
		t.Fatalf("empty box lists %v", got)
	}
	b.Add(devbox.Message{Text: "1", To: "a"})
	b.Add(devbox.Message{Text: "2", To: "b"})
	if got := texts(b.List()); got != "[2 1]" {
		t.Errorf("two messages: %s", got)
	}
	b.Add(devbox.Message{Text: "3", To: "a"})
	b.Add(devbox.Message{Text: "4", To: "b"})
	b.Add(devbox.Message{Text: "5", To: "a"})
	if got := texts(b.List()); got != "[5 4 3]" {
		t.Errorf("after overflow: %s", got)
	}
	if got := texts(b.For("a")); got != "[5 3]" {
		t.Errorf("for a: %s", got)
	}
}

func TestBox_SafeForConcurrentUse(t *testing.T) {
	b := devbox.New(50)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				b.Add(devbox.Message{Text: fmt.Sprint(w, "-", i)})
				b.List()
			}
		}()
	}
	wg.Wait()
	if n := len(b.List()); n != 50 {
		t.Errorf("kept %d, want 50", n)
	}
}

func TestNew_DefaultCapacity(t *testing.T) {
	b := devbox.New(0)
	for i := range devbox.DefaultCapacity + 10 {
		b.Add(devbox.Message{Text: fmt.Sprint(i)})
	}
	if got := b.List(); len(got) != devbox.DefaultCapacity || got[0].Text != fmt.Sprint(devbox.DefaultCapacity+9) {
		t.Errorf("kept %d, newest %q", len(got), got[0].Text)
	}
}
