//go:build chaos

package engine_test

// Failpoints (go test -tags chaos): the crash workload runs until the k-th hit of one
// failpoint, where the disk is captured as a power loss would leave it and the operation
// fails. The test then checks that
//
//   - the engine refuses to serve: once the failure has reached it (a background
//     checkpoint reports it at the next apply), every command fails;
//   - recovery from the power-loss image, and from the image a process crash right after
//     the failure leaves (everything written kept), holds exactly what the crash workload
//     requires (package crashcheck): nothing acknowledged lost, no acknowledged delete
//     undone, nothing invented, a dead-letter move whole or not at all, a deleted queue
//     deleted or whole.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/internal/testkit"
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
	first, last := testkit.Seeds(t, 8, 3)
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
			testkit.LogStats(t, stats)
		})
	}
}

// failAtPoint runs the workload until the chosen hit of point fails the engine, then
// checks the engine refuses to serve and verifies both crash images.
func failAtPoint(t *testing.T, point string, budget int, seed uint64, stats map[string]int) {
	run, s := newMemRun(t, 2000+seed, stats)
	run.Reopens = false // a clean Close after a failure is not the subject here
	s.opts.CheckpointBytes = 4096
	s.Reopen()
	mem := s.fs
	fireAt := int64(1 + run.Rand.IntN(budget))
	t.Cleanup(failpoint.Reset) // runs before the system closes the engine
	run.FailAt(point, fireAt, func(detail string) {
		run.Capture(fmt.Sprintf("power loss at %s (hit %d, %s)", point, fireAt, detail), func() any {
			return mem.CrashClone(rand.New(rand.NewPCG(seed, uint64(fireAt))))
		})
	})
	if !run.StepsUntilFailure(400) {
		return
	}
	run.CaptureAfterFailure("process crash after the failure at "+point, mem.KillClone())
	s.verifyCaptures(run)
}
