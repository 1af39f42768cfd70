//go:build chaos

package crashcheck

import (
	"fmt"
	"sync/atomic"

	"github.com/opencmq/opencmq/failpoint"
)

// FailAt arms failpoint point to fail the k-th time it is hit: capture, if not nil, runs
// first, at the failpoint (to take a power-loss image there); then the run learns that the
// failure is on purpose (Inject), and the operation fails with failpoint.ErrInjected.
func (r *Run) FailAt(point string, k int64, capture func(detail string)) {
	var hits atomic.Int64
	failpoint.Set(point, func(detail string) error {
		if hits.Add(1) != k {
			return nil
		}
		if capture != nil {
			capture(detail)
		}
		r.Inject()
		return fmt.Errorf("%w: %s %s", failpoint.ErrInjected, point, detail)
	})
}

// StepsUntilFailure runs up to n steps with the failpoint FailAt armed, disarms it and
// reports whether it fired; if it did, it checks that the stack refuses to serve.
func (r *Run) StepsUntilFailure(n int) bool {
	r.t.Helper()
	r.Steps(n)
	failpoint.Reset()
	if !r.Injected() {
		r.stats["runs that did not reach the chosen hit"]++
		return false
	}
	r.stats["failed at the point"]++
	r.CheckRefuses()
	return true
}
