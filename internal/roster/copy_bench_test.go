package roster_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/roster"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// rosterStream generates n valid roster rows, the same as rosterCSV, as they are read: the
// benchmark's input costs no memory, so the figures are the import's own.
type rosterStream struct {
	n, i int
	buf  bytes.Buffer
}

func newRosterStream(n int) *rosterStream {
	s := &rosterStream{n: n}
	s.buf.WriteString("user_id,phone,email,name,locale,deadline,id_last4\n")
	return s
}

func (s *rosterStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.i < s.n {
		i := s.i
		fmt.Fprintf(&s.buf, "user%07d,+86 139 %04d %04d,user%d@example.com,用户%d,zh-Hans,2027-0%d-15,%04d\n", i, i/10000, i%10000, i, i, 1+i%9, i%10000)
		s.i++
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

// peakMemory samples the Go heap and all memory the runtime holds from the system while an
// import runs, without stopping the world.
type peakMemory struct {
	stop       chan struct{}
	done       sync.WaitGroup
	heap, held uint64
}

func watchMemory() *peakMemory {
	runtime.GC()
	p := &peakMemory{stop: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			p.heap = max(p.heap, samples[0].Value.Uint64())
			p.held = max(p.held, samples[1].Value.Uint64())
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakMemory) end() {
	close(p.stop)
	p.done.Wait()
}

// BenchmarkImport1MPostgres measures `smsretire import` of 1,000,000 generated rows into
// PostgreSQL with COPY (make bench), with the peak Go heap and the peak memory the runtime held.
// Run it alone: go test -run '^$' -bench Import1M -benchtime 1x ./internal/roster/
func BenchmarkImport1MPostgres(b *testing.B) {
	const rows = 1_000_000
	var peakHeap, peakHeld uint64
	for b.Loop() {
		b.StopTimer()
		s := testsupport.Postgres(b)
		mem := watchMemory()
		b.StartTimer()
		sum, err := roster.ImportCopy(context.Background(), newRosterStream(rows), s, roster.Options{Hasher: hasher, Now: time.Now()})
		b.StopTimer()
		mem.end()
		if err != nil || sum.Added != rows || sum.Rejected != 0 {
			b.Fatalf("sum = %+v, %v", sum, err)
		}
		if n, err := s.CountUsers(context.Background()); n != rows || err != nil {
			b.Fatalf("users = %d, %v", n, err)
		}
		peakHeap, peakHeld = max(peakHeap, mem.heap), max(peakHeld, mem.held)
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakHeld)/(1<<20), "peak-runtime-MB")
}
