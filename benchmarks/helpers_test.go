package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// Every benchmark uses one namespace; queue names are chosen per benchmark.
const (
	benchNS    = "bench"
	benchQueue = "q"
	bodySize   = 1024 // bytes per message body, as in the targets
	maxBatch   = 16   // engine.Limits default MaxBatch
)

// quietLogger drops the engine's operational log lines so benchmark output stays readable.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// openEngine opens an engine in dir on the real file system. noSync turns fsync off (only
// for preloading and memory measurements, never for the durable throughput numbers).
func openEngine(tb testing.TB, dir string, noSync bool) *engine.Engine {
	tb.Helper()
	e, err := engine.Open(dir, engine.Options{NoSync: noSync, Logger: quietLogger})
	if err != nil {
		tb.Fatalf("engine.Open(%s): %v", dir, err)
	}
	return e
}

func closeEngine(tb testing.TB, e *engine.Engine) {
	tb.Helper()
	if err := e.Close(); err != nil {
		tb.Fatalf("engine.Close: %v", err)
	}
}

func createQueue(tb testing.TB, e *engine.Engine, name string) {
	tb.Helper()
	if _, err := e.CreateQueue(context.Background(), benchNS, name, engine.DefaultQueueAttributes()); err != nil {
		tb.Fatalf("CreateQueue %s: %v", name, err)
	}
}

// makeBodies returns n distinct bodies of size bytes each (random, so nothing downstream can
// get lucky with compressible or identical data). Senders share them read-only.
func makeBodies(n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		out[i] = b
	}
	return out
}

// sendAll sends total messages to queue name from senders goroutines, batch messages per
// call (batch 1 uses SendMessage), and returns the latencies of the calls. Messages are
// handed out through a shared counter, so the total is exact whatever the concurrency.
func sendAll(tb testing.TB, e *engine.Engine, name string, total, senders, batch int, bodies [][]byte) []time.Duration {
	tb.Helper()
	lats, err := trySendAll(e, name, total, senders, batch, bodies)
	if err != nil {
		tb.Fatal(err)
	}
	return lats
}

// trySendAll is sendAll for goroutines other than the test's: it returns the first error
// instead of failing the test.
func trySendAll(e *engine.Engine, name string, total, senders, batch int, bodies [][]byte) ([]time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	lats := make([][]time.Duration, senders)
	errc := make(chan error, senders)
	ctx := context.Background()
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			defer func() { lats[g] = mine }()
			for {
				start := int(next.Add(int64(batch))) - batch
				if start >= total {
					return
				}
				n := min(batch, total-start)
				t0 := time.Now()
				var err error
				if batch == 1 {
					_, err = e.SendMessage(ctx, benchNS, name, bodies[start%len(bodies)], 0)
				} else {
					_, err = e.BatchSendMessage(ctx, benchNS, name, bodies[:n], 0)
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					errc <- fmt.Errorf("send: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return slices.Concat(lats...), nil
}

// drain receives and deletes messages 16 at a time from consumers goroutines until the
// queue has nothing visible (ReceiveMessage with wait 0 returns ErrNoMessage), and returns
// how many it deleted.
func drain(tb testing.TB, e *engine.Engine, name string, consumers int) int64 {
	tb.Helper()
	var deleted atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, consumers)
	ctx := context.Background()
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handles := make([]string, 0, maxBatch)
			for {
				msgs, err := e.ReceiveMessage(ctx, benchNS, name, maxBatch, 0)
				if errors.Is(err, engine.ErrNoMessage) {
					return
				}
				if err != nil {
					errc <- fmt.Errorf("receive: %w", err)
					return
				}
				if err := deleteAll(ctx, e, name, msgs, handles); err != nil {
					errc <- err
					return
				}
				deleted.Add(int64(len(msgs)))
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		tb.Fatal(err)
	}
	return deleted.Load()
}

// deleteAll deletes msgs with one BatchDeleteMessage and fails if any item failed.
func deleteAll(ctx context.Context, e *engine.Engine, name string, msgs []engine.Message, handles []string) error {
	handles = handles[:0]
	for _, m := range msgs {
		handles = append(handles, m.ReceiptHandle)
	}
	errs, err := e.BatchDeleteMessage(ctx, benchNS, name, handles)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	for _, ierr := range errs {
		if ierr != nil {
			return fmt.Errorf("delete item: %w", ierr)
		}
	}
	return nil
}

// reportLatency adds p50 and p99 call latencies (milliseconds) to b's metrics.
func reportLatency(b *testing.B, lats []time.Duration) {
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	q := func(p float64) float64 {
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// heapAlloc returns the live heap after a full collection. Two collections: the first
// empties sync.Pool's primary caches into their victim caches, the second frees those.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
