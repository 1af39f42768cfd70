//go:build chaos

package replication

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/opencmq/opencmq/failpoint"
)

// TestSnapshotFailpoints fails a snapshot catch-up at each of its dangerous moments: the
// leader's stream half written, the follower's stream stored, the install staged, the
// switch half done. A failed stream is sent again; a failed install stops the follower,
// which a restart completes. Either way the follower ends with every acknowledged message.
func TestSnapshotFailpoints(t *testing.T) {
	for _, tc := range []struct {
		point     string
		stopsNode bool // the follower's node stops and must be restarted
	}{
		{failpoint.SnapshotSave, false},
		{failpoint.SnapshotReceived, false},
		{failpoint.SnapshotStaged, true},
		{failpoint.SnapshotSwitch, true},
	} {
		t.Run(tc.point, func(t *testing.T) {
			t.Cleanup(failpoint.Reset)
			c := newClusterWith(t, 3, withSnapshots)
			lead, laggard, acked := c.lagBehindSnapshot(200)
			var hits atomic.Int32
			failpoint.Set(tc.point, func(detail string) error {
				if hits.Add(1) > 1 {
					return nil
				}
				return fmt.Errorf("%w: %s %s", failpoint.ErrInjected, tc.point, detail)
			})
			c.start(laggard.id, false) // behind the compacted log: it gets a snapshot
			waitUntil(t, tc.point+" is reached", func() bool { return hits.Load() > 0 })
			if tc.stopsNode {
				waitUntil(t, "the follower stops after its install failed", func() bool { return laggard.node.Err() != nil })
				checkStopped(t, laggard)
				c.stop(laggard.id)
				c.start(laggard.id, false) // recovery finishes or drops the install
			}
			laggard = c.nodes[laggard.id]
			c.waitApplied(lead.eng.AppliedIndex())
			if info := c.agree("q"); info.ActiveMsgNum != int64(len(acked)) {
				t.Fatalf("active %d, want %d", info.ActiveMsgNum, len(acked))
			}
			expectAll(t, laggard, acked)
			if _, err := laggard.eng.SendMessage(context.Background(), "ns", "q", []byte("after"), 0); err != nil {
				t.Fatal(err)
			}
		})
	}
}
