package engine

import (
	"fmt"
	"slices"
	"strings"
)

// StateForTest renders the state machine minus what recovery may legitimately change
// (pendingRemoval: recovery removes those directories), for the crash tests of package
// engine_test.
func StateForTest(e *Engine) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "applied=%d clock=%d nextQueueID=%d", e.sm.applied, e.sm.clock, e.sm.nextQueueID)
	ids := make([]uint64, 0, len(e.sm.queues))
	for id := range e.sm.queues {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		q := e.sm.queues[id]
		fmt.Fprintf(&b, " | %s first=%d head=%d cursor=%d tail=%d state=%x", q.name, q.first, q.head, q.cursor, q.tail, q.appendState(nil))
	}
	return b.String()
}
