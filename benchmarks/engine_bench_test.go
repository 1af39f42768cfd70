package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// One op of every throughput benchmark below is one message, so ns/op is nanoseconds per
// message and the msgs/s metric is b.N over the wall time of the measured part. All of them
// run on the real file system (b.TempDir()) with fsync on: every acknowledged send, receive
// and delete went through the engine's journal and its group-committed fdatasync.

// BenchmarkEngineSend: durable sends of 1 KiB bodies into one queue, single SendMessage
// (batch=1) or BatchSendMessage of 16, from 1 or 64 concurrent senders.
// Targets: senders=64/batch=16 >= 150k msgs/s; senders=64/batch=1 >= 50k msgs/s.
func BenchmarkEngineSend(b *testing.B) {
	for _, c := range []struct{ senders, batch int }{{1, 1}, {1, 16}, {64, 1}, {64, 16}} {
		b.Run(fmt.Sprintf("senders=%d/batch=%d", c.senders, c.batch), func(b *testing.B) {
			e := openEngine(b, b.TempDir(), false)
			createQueue(b, e, benchQueue)
			bodies := makeBodies(maxBatch, bodySize)
			b.SetBytes(bodySize)
			b.ResetTimer()
			start := time.Now()
			lats := sendAll(b, e, benchQueue, b.N, c.senders, c.batch, bodies)
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			reportLatency(b, lats)
			closeEngine(b, e)
		})
	}
}

// preload fills queue benchQueue of a fresh engine in dir with n messages, fsync off (the
// preload is not what is measured), and closes the engine.
func preload(b *testing.B, dir string, n int, bodies [][]byte) {
	e := openEngine(b, dir, true)
	createQueue(b, e, benchQueue)
	sendAll(b, e, benchQueue, n, 16, maxBatch, bodies)
	closeEngine(b, e)
}

// BenchmarkEngineReceiveDelete: b.N messages are preloaded (fsync off), then the engine is
// reopened durable and consumers receive 16 at a time (wait 0) and BatchDeleteMessage them
// until the queue is empty.
func BenchmarkEngineReceiveDelete(b *testing.B) {
	for _, consumers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("consumers=%d", consumers), func(b *testing.B) {
			b.StopTimer()
			dir := b.TempDir()
			preload(b, dir, b.N, makeBodies(maxBatch, bodySize))
			e := openEngine(b, dir, false)
			b.SetBytes(bodySize)
			b.StartTimer()
			start := time.Now()
			n := drain(b, e, benchQueue, consumers)
			elapsed := time.Since(start)
			b.StopTimer()
			if n != int64(b.N) {
				b.Fatalf("deleted %d messages, preloaded %d", n, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			closeEngine(b, e)
		})
	}
}

// BenchmarkEngineEndToEnd: producers BatchSendMessage(16) while consumers ReceiveMessage(16)
// (long polling, 1 s) and BatchDeleteMessage, concurrently, durable. The clock stops when
// the b.N-th message is deleted. Target (64 clients in all): >= 50k msgs/s.
func BenchmarkEngineEndToEnd(b *testing.B) {
	for _, c := range []struct{ producers, consumers int }{{1, 1}, {8, 8}, {32, 32}} {
		b.Run(fmt.Sprintf("producers=%d/consumers=%d", c.producers, c.consumers), func(b *testing.B) {
			e := openEngine(b, b.TempDir(), false)
			createQueue(b, e, benchQueue)
			bodies := makeBodies(maxBatch, bodySize)
			b.SetBytes(bodySize)
			b.ResetTimer()
			start := time.Now()
			endToEnd(b, e, b.N, c.producers, c.consumers, bodies)
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			closeEngine(b, e)
		})
	}
}

func endToEnd(b *testing.B, e *engine.Engine, total, producers, consumers int, bodies [][]byte) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var deleted atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, producers+consumers+1)
	wg.Add(1)
	go func() { // producers, through the same helper as the send benchmark
		defer wg.Done()
		if _, err := trySendAll(e, benchQueue, total, producers, maxBatch, bodies); err != nil {
			errc <- err
			cancel() // the consumers would wait for messages that never come
		}
	}()
	for range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handles := make([]string, 0, maxBatch)
			for deleted.Load() < int64(total) {
				msgs, err := e.ReceiveMessage(ctx, benchNS, benchQueue, maxBatch, 1)
				if ctx.Err() != nil {
					return // everything was deleted by the others (or a producer failed)
				}
				if errors.Is(err, engine.ErrNoMessage) {
					continue
				}
				if err != nil {
					errc <- fmt.Errorf("receive: %w", err)
					return
				}
				// Deletes use a context that is never cancelled: a receive that succeeded
				// must be deleted even if the last message was just deleted elsewhere.
				if err := deleteAll(context.Background(), e, benchQueue, msgs, handles); err != nil {
					errc <- err
					return
				}
				if deleted.Add(int64(len(msgs))) >= int64(total) {
					cancel() // wake the consumers blocked in long polls
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Error(err)
	}
	if b.Failed() {
		b.FailNow()
	}
	if n := deleted.Load(); n != int64(total) {
		b.Fatalf("deleted %d messages, sent %d", n, total)
	}
}
