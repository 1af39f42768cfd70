//go:build chaos

package main

// Process crashes at failpoints (go test -tags chaos): cmqd, built with the failpoints,
// exits at a random hit of one (CMQ_FAILPOINTS=<point>=P%exit: the process stops at once,
// like kill -9 at that moment) while a client sends, receives and deletes; it is started
// again (with the failpoint armed again) a few times, then without, and the queue is
// drained and checked: every acknowledged send is there with its body unless its delete
// was acknowledged, no acknowledged delete is undone, nothing else appears (except the
// send in flight at a crash, whose outcome is unknown).

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/httpapi/client"
)

var (
	chaosBuildOnce sync.Once
	chaosBin       string
	chaosBuildErr  error
)

// buildChaosCmqd builds cmqd with the failpoints compiled in (once per test binary run).
func buildChaosCmqd(t *testing.T) string {
	t.Helper()
	buildBinaries(t) // for buildDir, removed by TestMain
	chaosBuildOnce.Do(func() {
		chaosBin = filepath.Join(buildDir, "cmqd-chaos")
		args := []string{"build", "-tags", "chaos", "-o", chaosBin}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			chaosBuildErr = fmt.Errorf("go build -tags chaos: %v\n%s", err, out)
		}
	})
	if chaosBuildErr != nil {
		t.Fatal(chaosBuildErr)
	}
	return chaosBin
}

// fpHistory is what the client saw: acknowledged sends and deletes, and the calls whose
// outcome is unknown because the server died during them.
type fpHistory struct {
	sent         map[string]string // msgId -> body
	deleted      map[string]bool
	maybeSent    map[string]bool // bodies
	maybeDeleted map[string]bool // msgIds
	n            int
}

// load sends, receives and deletes until a call fails (the server died) or n calls.
func (h *fpHistory) load(ctx context.Context, c *client.Client, n int) {
	for i := 0; i < n; i++ {
		h.n++
		body := fmt.Sprintf("fp-%d-%s", h.n, time.Now().Format(time.RFC3339Nano))
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		id, err := c.SendMessage(cctx, "fp", body, 0)
		cancel()
		if err != nil {
			h.maybeSent[body] = true
			return
		}
		h.sent[id] = body
		if h.n%3 != 0 {
			continue
		}
		cctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		m, err := c.ReceiveMessage(cctx, "fp", 0)
		cancel()
		if client.CodeOf(err) == client.CodeNoMessage {
			continue
		}
		if err != nil {
			return
		}
		cctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		err = c.DeleteMessage(cctx, "fp", m.ReceiptHandle)
		cancel()
		if err != nil {
			h.maybeDeleted[m.MsgID] = true
			return
		}
		h.deleted[m.MsgID] = true
	}
}

// check drains the queue and compares it with the history.
func (h *fpHistory) check(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	got := map[string]string{}
	for i := 0; ; i++ {
		if i == 500 {
			t.Fatal("the drain did not end")
		}
		msgs, err := c.BatchReceiveMessage(ctx, "fp", 16, 1) // long poll past the 1 s leases
		if client.CodeOf(err) == client.CodeNoMessage {
			// Done when nothing is left at all (not even in flight from before a crash).
			info, err := c.GetQueueAttributes(ctx, "fp")
			if err != nil {
				t.Fatal(err)
			}
			if info.ActiveMsgNum+info.InactiveMsgNum+info.DelayMsgNum == 0 {
				break
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got[m.MsgID] = m.Body
			if err := c.DeleteMessage(ctx, "fp", m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	for id, body := range h.sent {
		b, ok := got[id]
		switch {
		case h.deleted[id] && ok:
			t.Fatalf("message %s was acknowledged deleted and came back", id)
		case h.deleted[id] || (!ok && h.maybeDeleted[id]):
		case !ok:
			t.Fatalf("acknowledged message %s (%q) lost (%d sent, %d received)", id, body, len(h.sent), len(got))
		case b != body:
			t.Fatalf("message %s body %q, sent %q", id, b, body)
		}
	}
	for id, b := range got {
		if _, ok := h.sent[id]; !ok && !h.maybeSent[b] {
			t.Fatalf("message %s (%q) was never sent", id, b)
		}
	}
	t.Logf("%d sends acknowledged, %d deletes acknowledged, %d calls with unknown outcome, %d messages drained",
		len(h.sent), len(h.deleted), len(h.maybeSent)+len(h.maybeDeleted), len(got))
}

func TestE2EFailpointExits(t *testing.T) {
	bin := buildChaosCmqd(t)
	acc := e2eAccounts[0]
	accounts := writeAccounts(t, e2eAccounts)
	for _, tc := range []struct {
		point   string
		percent int // chance to exit at each hit: about one exit per 50 requests
	}{
		{failpoint.RaftBeforeSave, 2},
		{failpoint.RaftAfterSave, 2},
		{failpoint.SegmentBeforeFsync, 10}, // queue logs, synced by checkpoints
		{failpoint.CheckpointBeforeWrite, 25},
		{failpoint.CheckpointAfterWrite, 25},
	} {
		point := tc.point
		t.Run(point, func(t *testing.T) {
			ctx := context.Background()
			args := []string{"--data", filepath.Join(t.TempDir(), "data"), "--accounts", accounts,
				"--tick", "10ms", "--checkpoint-bytes", "2048"}
			h := &fpHistory{sent: map[string]string{}, deleted: map[string]bool{}, maybeSent: map[string]bool{}, maybeDeleted: map[string]bool{}}
			exits := 0
			for round := 0; round < 3; round++ {
				spec := fmt.Sprintf("CMQ_FAILPOINTS=%s=%d%%exit", point, tc.percent)
				p := startCmqdBin(t, bin, []string{spec}, args...)
				if err := p.awaitReady(); err != nil {
					if !errors.Is(err, errCmqdExited) {
						t.Fatal(err)
					}
				} else {
					c := newClient(t, p.endpoint, acc)
					vis := int64(1)
					_, err := c.CreateQueue(ctx, "fp", &client.QueueAttributes{VisibilityTimeout: &vis})
					if err == nil || client.CodeOf(err) == client.CodeQueueExists {
						h.load(ctx, c, 2000)
					} // else it died while creating the queue
				}
				if code := p.wait(t, 20*time.Second); code != failpoint.ExitCode {
					t.Fatalf("cmqd exited with %d, want %d (the failpoint)", code, failpoint.ExitCode)
				}
				exits++
			}
			p := startCmqd(t, args...)
			p.waitReady(t)
			h.check(t, ctx, newClient(t, p.endpoint, acc))
			if code := p.stop(t); code != 0 {
				t.Fatalf("cmqd exited with %d", code)
			}
			t.Logf("%s: %d process exits at the failpoint", point, exits)
		})
	}
}
