//go:build chaos

package engine

// Failpoints (go test -tags chaos): the crash workload runs until the k-th hit of one
// failpoint, where the disk is captured as a power loss would leave it and the operation
// fails. The test then checks that
//
//   - the engine refuses to serve: once the failure has reached it (a background
//     checkpoint reports it at the next apply), every command fails with ErrInternal;
//   - recovery from the power-loss image, and from the image a process crash right after
//     the failure leaves (everything written kept), holds exactly what the crash workload
//     requires: nothing acknowledged lost, no acknowledged delete undone, nothing invented,
//     a dead-letter move whole or not at all, a deleted queue deleted or whole.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/segment/vfs"
)

// enginePoints are the engine's failpoints, each with how many hits the k-th hit is drawn
// from (about how often the workload reaches it).
var enginePoints = []struct {
	name   string
	budget int
}{
	{failpoint.SegmentBeforeFsync, 200},
	{failpoint.SegmentAfterFsync, 200},
	{failpoint.SegmentCreate, 30},
	{failpoint.CheckpointBeforeWrite, 10},
	{failpoint.CheckpointAfterWrite, 10},
	{failpoint.DeadLetterMove, 10},
	{failpoint.QueueDelete, 3},
	{failpoint.QueueDirRemove, 2},
}

func TestFailpointsLatchAndRecover(t *testing.T) {
	first, last := crashSeeds(t, 8, 3)
	for _, p := range enginePoints {
		t.Run(p.name, func(t *testing.T) {
			stats := map[string]int{}
			for seed := first; seed <= last; seed++ {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					failAtPoint(t, p.name, p.budget, seed, stats)
				})
			}
			if stats["failed at the point"] == 0 {
				t.Fatalf("%s was never reached in %d runs", p.name, last-first+1)
			}
			logStats(t, stats)
		})
	}
}

// failAtPoint runs the workload until the chosen hit of point fails the engine, then
// checks the engine refuses to serve and verifies both crash images.
func failAtPoint(t *testing.T, point string, budget int, seed uint64, stats map[string]int) {
	cr := newCrashRun(t, 2000+seed, stats)
	cr.noReopen = true // a clean Close after a failure is not the subject here
	cr.h.opts.CheckpointBytes = 4096
	cr.h.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) // failures are expected
	cr.h.reopen()
	mem := cr.h.fs.(*vfs.MemFS)
	fireAt := int64(1 + cr.r.IntN(budget))
	var hits atomic.Int64
	t.Cleanup(failpoint.Reset) // runs before the harness closes the engine
	failpoint.Set(point, func(detail string) error {
		if hits.Add(1) != fireAt {
			return nil
		}
		cr.mu.Lock()
		cr.captureLocked(fmt.Sprintf("power loss at %s %s (hit %d)", point, detail, fireAt),
			mem.CrashClone(rand.New(rand.NewPCG(seed, uint64(fireAt)))))
		cr.mu.Unlock()
		cr.injected.Store(true)
		return fmt.Errorf("%w: %s", failpoint.ErrInjected, point)
	})
	for op := 1; op <= 400 && !cr.stopped; op++ {
		cr.mu.Lock()
		cr.op = op
		cr.mu.Unlock()
		cr.step()
	}
	failpoint.Reset()
	if !cr.injected.Load() {
		stats["runs that did not reach the chosen hit"]++
		return
	}
	stats["failed at the point"]++
	cr.checkRefuses()
	cr.mu.Lock()
	cr.pending = cr.failedOp
	kill := cr.captureLocked("process crash after the failure at "+point, mem.KillClone())
	cr.pending = nil
	cr.mu.Unlock()
	for _, c := range cr.captures {
		cr.logf("verify %s; call in progress: %v", c.what, c.pending != nil)
		cr.verifyCapture(c, c != kill)
	}
}

// checkRefuses checks that the failed engine serves nothing: sends go on succeeding only
// until the failure reaches the engine (a bounded number of them, each durable and so
// added to what must be there), then every command fails with ErrInternal.
func (cr *crashRun) checkRefuses() {
	cr.t.Helper()
	e, ctx := cr.h.e, cr.h.ctx
	for i := 0; ; i++ {
		if i == 20 {
			cr.failf("the engine still accepts sends %d commands after a failed storage operation", i)
		}
		body := cr.randBody()
		now := cr.h.clock.Now().UnixMilli()
		id, err := e.SendMessage(ctx, "ns", "q1", body, 0)
		if errors.Is(err, ErrInternal) {
			break
		}
		if err != nil {
			cr.failf("send after the failure: %v, want success or ErrInternal", err)
		}
		cr.mu.Lock()
		cr.queues["q1"].msgs[id] = crashMsg{body: body, enqueue: now}
		cr.mu.Unlock()
	}
	if _, err := e.ReceiveMessage(ctx, "ns", "q1", 1, 0); !errors.Is(err, ErrInternal) {
		cr.failf("receive from a failed engine: %v, want ErrInternal", err)
	}
	if _, err := e.CreateQueue(ctx, "ns", "q9", DefaultQueueAttributes()); !errors.Is(err, ErrInternal) {
		cr.failf("CreateQueue on a failed engine: %v, want ErrInternal", err)
	}
	if err := e.Tick(ctx); !errors.Is(err, ErrInternal) {
		cr.failf("Tick on a failed engine: %v, want ErrInternal", err)
	}
	cr.stats["engines that refused to serve after the failure"]++
}
