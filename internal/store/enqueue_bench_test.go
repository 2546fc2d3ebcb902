package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/testsupport"
)

// BenchmarkEnqueueParallel measures transactions that enqueue one event each, committed by 16
// clients at once on PostgreSQL, as many code sends commit together: tx/s.
func BenchmarkEnqueueParallel(b *testing.B) {
	s := testsupport.Postgres(b)
	ctx := context.Background()
	const clients = 16
	var next atomic.Int64
	total := int64(b.N) * 200
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				err := s.InTx(ctx, func(tx *store.Tx) error {
					_, err := tx.EnqueueOutbox(ctx, store.OutboxItem{Kind: store.OutboxEvent, Topic: "user.migrated", UserID: "u1", CreatedAt: t0, Payload: []byte(`{}`)})
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "tx/s")
	b.ReportMetric(0, "ns/op")
}
