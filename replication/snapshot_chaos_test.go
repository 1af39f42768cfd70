//go:build chaos

package replication

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
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
			c := newClusterWith(t, 3, func(c *cluster) {
				c.engineOpts.CheckpointBytes = 2048
				c.catchUp = 10
			})
			ctx := ctxT(t)
			lead := c.leader()
			if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
				t.Fatal(err)
			}
			laggard := c.follower()
			c.stop(laggard.id)
			for i := 0; i < 200; i++ {
				if _, err := lead.eng.SendMessage(ctx, "ns", "q", []byte(fmt.Sprintf("message %d", i)), 0); err != nil {
					t.Fatal(err)
				}
			}
			var hits atomic.Int32
			failpoint.Set(tc.point, func(detail string) error {
				if hits.Add(1) > 1 {
					return nil
				}
				return fmt.Errorf("%w: %s %s", failpoint.ErrInjected, tc.point, detail)
			})
			c.start(laggard.id, false) // behind the compacted log: it gets a snapshot
			for i := 0; hits.Load() == 0; i++ {
				if i == 1000 {
					t.Fatalf("%s was never reached", tc.point)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if tc.stopsNode {
				for i := 0; laggard.node.Err() == nil; i++ {
					if i == 1000 {
						t.Fatal("the follower serves on after its snapshot install failed")
					}
					time.Sleep(time.Millisecond)
				}
				checkStopped(t, laggard)
				c.stop(laggard.id)
				c.start(laggard.id, false) // recovery finishes or drops the install
			}
			c.waitApplied(lead.eng.AppliedIndex())
			if info := c.agree("q"); info.ActiveMsgNum != 200 {
				t.Fatalf("active %d, want 200", info.ActiveMsgNum)
			}
			if _, err := laggard.eng.SendMessage(context.Background(), "ns", "q", []byte("after"), 0); err != nil {
				t.Fatal(err)
			}
			if info := c.agree("q"); info.ActiveMsgNum != 201 {
				t.Fatalf("active %d, want 201", info.ActiveMsgNum)
			}
		})
	}
}
