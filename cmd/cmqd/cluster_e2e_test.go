package main

// End-to-end cluster tests: separate cmqd processes forming a raft group on 127.0.0.1, each
// with its own data directory, driven through the Go client and the cmqctl binary.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

const e2eAdminToken = "e2e-admin-token-0123456789abcdef"

// e2eNode is one cmqd of a test cluster.
type e2eNode struct {
	id                 uint64
	dir                string
	httpPort, raftPort int
	args               []string // the flags it was started with (restarts reuse them)
	proc               *cmqdProc
	api                *client.Client // CMQ API as account 0, short timeout
	admin              *client.Client
}

func (n *e2eNode) raftAddr() string { return fmt.Sprintf("127.0.0.1:%d", n.raftPort) }

// running reports whether the node's process has been started and has not exited.
func (n *e2eNode) running() bool {
	if n.proc == nil {
		return false
	}
	select {
	case <-n.proc.done:
		return false
	default:
		return true
	}
}

type e2eCluster struct {
	t        *testing.T
	accounts string
	nodes    []*e2eNode
}

// pickPorts returns n distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral
// range (so no outgoing connection takes one between the check and cmqd's bind).
func pickPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for tries := 0; len(ports) < n && tries < 1000; tries++ {
		p := 20000 + rand.IntN(12000)
		if slices.Contains(ports, p) {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		ports = append(ports, p)
	}
	if len(ports) < n {
		t.Fatalf("found only %d free ports", len(ports))
	}
	return ports
}

// newE2ECluster starts n cmqd processes as the initial voters 1..n and waits until all are
// ready.
func newE2ECluster(t *testing.T, n int) *e2eCluster {
	t.Helper()
	buildBinaries(t)
	c := &e2eCluster{t: t, accounts: writeAccounts(t, e2eAccounts)}
	ports := pickPorts(t, 2*n)
	var peers []string
	for i := 0; i < n; i++ {
		node := &e2eNode{id: uint64(i + 1), dir: filepath.Join(t.TempDir(), fmt.Sprintf("node%d", i+1)), httpPort: ports[2*i], raftPort: ports[2*i+1]}
		c.nodes = append(c.nodes, node)
		peers = append(peers, fmt.Sprintf("%d=%s", node.id, node.raftAddr()))
	}
	for _, node := range c.nodes {
		node.args = c.flags(node, "--peers", strings.Join(peers, ","))
		c.start(node)
	}
	for _, node := range c.nodes {
		node.proc.waitReady(t)
	}
	return c
}

// flags are a node's cmqd flags: its ports and data, the shared accounts and admin token.
func (c *e2eCluster) flags(n *e2eNode, extra ...string) []string {
	return append([]string{
		"--node-id", strconv.FormatUint(n.id, 10),
		"--listen", fmt.Sprintf("127.0.0.1:%d", n.httpPort),
		"--raft-listen", n.raftAddr(),
		"--data", n.dir,
		"--accounts", c.accounts,
		"--admin-token", e2eAdminToken,
		"--tick", "50ms",
	}, extra...)
}

// start (re)starts a node's process with its flags; it does not wait for readiness.
func (c *e2eCluster) start(n *e2eNode) {
	c.t.Helper()
	n.proc = startCmqd(c.t, n.args...)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", n.httpPort)
	n.api = newClient(c.t, endpoint, e2eAccounts[0], client.WithTimeout(2*time.Second))
	n.admin = must(client.NewAdmin(endpoint, e2eAdminToken, client.WithTimeout(2*time.Second)))(c.t)
	c.t.Cleanup(n.admin.Close)
}

// kill sends SIGKILL to a node's process (by its pid) and waits for it to exit.
func (c *e2eCluster) kill(n *e2eNode) {
	c.t.Helper()
	if err := n.proc.cmd.Process.Kill(); err != nil {
		c.t.Fatal(err)
	}
	n.proc.wait(c.t, 10*time.Second)
}

func (c *e2eCluster) node(id uint64) *e2eNode {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %d", id)
	return nil
}

// leader waits (bounded) until one running node leads and every running node that knows a
// leader names it; it returns the leader.
func (c *e2eCluster) leader() *e2eNode {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var lead uint64
		agree := true
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			st, err := n.admin.ClusterStatus(context.Background())
			if err != nil {
				agree = false
				continue
			}
			if st.Role == "leader" {
				lead = st.ID
			}
			if st.Leader == 0 || (lead != 0 && st.Leader != lead) {
				agree = false
			}
		}
		if lead != 0 && agree {
			return c.node(lead)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("the running nodes did not agree on a leader within 20s")
	return nil
}

// waitCaughtUp waits (bounded) until n has applied everything the leader had committed when
// the wait began.
func (c *e2eCluster) waitCaughtUp(n *e2eNode) {
	c.t.Helper()
	lead := c.leader()
	lst := must(lead.admin.ClusterStatus(context.Background()))(c.t)
	deadline := time.Now().Add(20 * time.Second)
	var st *client.ClusterStatus
	for time.Now().Before(deadline) {
		var err error
		if st, err = n.admin.ClusterStatus(context.Background()); err == nil && st.Applied >= lst.Commit && st.Ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("node %d did not catch up to the leader's commit %d within 20s: %+v", n.id, lst.Commit, st)
}

// ctlAdmin runs the cmqctl binary against endpoint with the admin token in the environment.
func ctlAdmin(t *testing.T, endpoint string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmqctlBin, args...)
	cmd.Env = append(os.Environ(), "CMQ_ENDPOINT="+endpoint, "CMQ_ADMIN_TOKEN="+e2eAdminToken)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector fired in cmqctl %v:\n%s", args, errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("cmqctl %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// retry runs op against the nodes round-robin until it succeeds (bounded); it returns the
// node that answered.
func (c *e2eCluster) retry(what string, op func(n *e2eNode) error) *e2eNode {
	c.t.Helper()
	var err error
	for i := 0; i < 60; i++ {
		n := c.nodes[i%len(c.nodes)]
		if !n.running() {
			continue
		}
		if err = op(n); err == nil {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s: %v", what, err)
	return nil
}

func endpointOf(n *e2eNode) string { return fmt.Sprintf("http://127.0.0.1:%d", n.httpPort) }

// readyz returns a node's /readyz status code (0 if it did not answer).
func readyz(n *e2eNode) int {
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(endpointOf(n) + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestE2EClusterKillLeader runs a send/receive/delete workload against a 3-node cluster,
// kills the leader with SIGKILL in the middle, restarts it, and checks that every
// acknowledged send that was not acknowledged-deleted is still delivered and that no
// acknowledged delete is undone.
func TestE2EClusterKillLeader(t *testing.T) {
	start := time.Now()
	c := newE2ECluster(t, 3)
	ctx := context.Background()
	const queue = "killleader"
	c.retry("create queue", func(n *e2eNode) error {
		_, err := n.api.CreateQueue(ctx, queue, &client.QueueAttributes{VisibilityTimeout: client.Int64(1), PollingWaitSeconds: client.Int64(0)})
		if client.CodeOf(err) == client.CodeQueueExists {
			return nil
		}
		return err
	})
	leader := c.leader()
	t.Logf("cluster up in %v; leader is node %d", time.Since(start).Round(time.Millisecond), leader.id)

	// The workload: three concurrent clients, each going round-robin over all nodes and
	// moving to the next node after every operation (at once on an error). 3 of 4 operations
	// send one message; the others receive up to 4 and delete half of them, leaving the rest
	// to come back after the 1 s visibility timeout.
	var (
		mu            sync.Mutex
		ackedSend     = map[string]string{} // body → msgId
		unknownSend   = map[string]bool{}   // send failed or timed out: may or may not exist
		ackedDelete   = map[string]bool{}   // body → delete acknowledged
		unknownDelete int
		received      int
		opErrors      int
		ops           atomic.Int64
		seq           atomic.Int64
		killedAt      atomic.Int64 // unix ns of the kill
		firstOKAfter  time.Duration
	)
	const (
		maxOps       = 6000
		loopDuration = 12 * time.Second
		killAfter    = 4 * time.Second
		workers      = 3
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("workload seed %d", seed)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			cur := w
			for ops.Add(1) <= maxOps {
				select {
				case <-stop:
					return
				default:
				}
				n := c.nodes[cur%len(c.nodes)]
				cur++
				began := time.Now()
				var err error
				if rng.IntN(4) < 3 {
					body := fmt.Sprintf("kl-%06d", seq.Add(1))
					id, serr := n.api.SendMessage(ctx, queue, body, 0)
					mu.Lock()
					if serr == nil {
						ackedSend[body] = id
					} else {
						unknownSend[body] = true
					}
					mu.Unlock()
					err = serr
				} else {
					msgs, rerr := n.api.BatchReceiveMessage(ctx, queue, 4, 0)
					if client.IsNoMessage(rerr) {
						rerr = nil
					}
					err = rerr
					var del []client.Message
					for i, m := range msgs {
						if i%2 == 0 {
							del = append(del, m)
						}
					}
					mu.Lock()
					received += len(msgs)
					mu.Unlock()
					if len(del) > 0 {
						hs := make([]string, len(del))
						for i, m := range del {
							hs[i] = m.ReceiptHandle
						}
						errs, derr := n.api.BatchDeleteMessage(ctx, queue, hs)
						mu.Lock()
						for i, m := range del {
							if (errs != nil && errs[i] == nil) || (errs == nil && derr == nil) {
								ackedDelete[m.Body] = true
							} else {
								unknownDelete++
							}
						}
						mu.Unlock()
						if client.CodeOf(derr) != client.CodeBatchDeletePart {
							err = derr // per-handle results are recorded above
						}
					}
				}
				mu.Lock()
				if err != nil {
					opErrors++
				} else if k := killedAt.Load(); k != 0 && began.UnixNano() > k && firstOKAfter == 0 {
					firstOKAfter = time.Since(time.Unix(0, k))
				}
				mu.Unlock()
			}
		}()
	}
	loopStart := time.Now()
	time.Sleep(killAfter)
	mu.Lock()
	before := len(ackedSend)
	mu.Unlock()
	c.kill(leader)
	killedAt.Store(time.Now().UnixNano())
	t.Logf("killed the leader, node %d (pid %d), after %v and %d ops (%d acked sends)", leader.id, leader.proc.cmd.Process.Pid, time.Since(loopStart).Round(time.Millisecond), ops.Load(), before)
	time.Sleep(loopDuration - killAfter)
	close(stop)
	wg.Wait()
	t.Logf("workload: %d ops in %v; %d acked sends, %d unknown sends, %d received, %d acked deletes, %d unknown deletes, %d errors; first success %v after the kill",
		min(ops.Load(), maxOps), time.Since(loopStart).Round(time.Millisecond), len(ackedSend), len(unknownSend), received, len(ackedDelete), unknownDelete, opErrors, firstOKAfter.Round(time.Millisecond))
	if len(ackedSend) < 50 {
		t.Fatalf("only %d sends were acknowledged", len(ackedSend))
	}
	if firstOKAfter == 0 {
		t.Fatal("no operation succeeded after the kill")
	}

	// Restart the killed node on its data; it must come back ready and catch up.
	restart := time.Now()
	c.start(leader)
	leader.proc.waitReady(t)
	c.waitCaughtUp(leader)
	t.Logf("node %d restarted and caught up in %v; leader now node %d", leader.id, time.Since(restart).Round(time.Millisecond), c.leader().id)

	// Drain through every node: each acknowledged, not acknowledged-deleted send must come
	// back; no acknowledged delete may be undone; nothing that was never sent may appear.
	expected := map[string]bool{}
	for body := range ackedSend {
		if !ackedDelete[body] {
			expected[body] = true
		}
	}
	seen := map[string]string{}
	var resurrected, phantom, wrongID []string
	drainStart := time.Now()
	emptyInARow := 0
	for i := 0; i < 2000 && time.Since(drainStart) < 25*time.Second; i++ {
		n := c.nodes[i%len(c.nodes)]
		msgs, err := n.api.BatchReceiveMessage(ctx, queue, 16, 1)
		if client.IsNoMessage(err) {
			emptyInARow++
			// Everything expected is in, and two visibility timeouts passed with nothing
			// more to receive: done.
			if len(seen) >= len(expected) && emptyInARow >= 3 {
				break
			}
			continue
		}
		if err != nil {
			t.Logf("drain: node %d: %v", n.id, err)
			continue
		}
		emptyInARow = 0
		hs := make([]string, 0, len(msgs))
		for _, m := range msgs {
			switch {
			case ackedDelete[m.Body]:
				resurrected = append(resurrected, m.Body)
			case ackedSend[m.Body] == "" && !unknownSend[m.Body]:
				phantom = append(phantom, m.Body)
			case ackedSend[m.Body] != "" && ackedSend[m.Body] != m.MsgID:
				wrongID = append(wrongID, m.Body)
			}
			if expected[m.Body] {
				seen[m.Body] = m.MsgID
			}
			hs = append(hs, m.ReceiptHandle)
		}
		n.api.BatchDeleteMessage(ctx, queue, hs) // failures: they come back and are seen again
	}
	var lost []string
	for body := range expected {
		if _, ok := seen[body]; !ok {
			lost = append(lost, body)
		}
	}
	slices.Sort(lost)
	t.Logf("drain in %v: expected %d (acked sends %d − acked deletes %d), delivered %d, lost %d, resurrected %d, phantom %d, wrong msgId %d",
		time.Since(drainStart).Round(time.Millisecond), len(expected), len(ackedSend), len(ackedDelete), len(seen), len(lost), len(resurrected), len(phantom), len(wrongID))
	if len(lost) > 0 {
		t.Errorf("%d acknowledged messages lost: %v", len(lost), lost[:min(len(lost), 20)])
	}
	if len(resurrected) > 0 {
		t.Errorf("%d acknowledged-deleted messages came back: %v", len(resurrected), resurrected[:min(len(resurrected), 20)])
	}
	if len(phantom) > 0 {
		t.Errorf("%d messages that were never sent: %v", len(phantom), phantom[:min(len(phantom), 20)])
	}
	if len(wrongID) > 0 {
		t.Errorf("%d messages with another msgId than their send acknowledged: %v", len(wrongID), wrongID[:min(len(wrongID), 20)])
	}
	// Every node agrees that the queue is empty now (reads are linearizable on every node).
	for _, n := range c.nodes {
		info := must(n.api.GetQueueAttributes(ctx, queue))(t)
		if info.ActiveMsgNum+info.InactiveMsgNum+info.DelayMsgNum != 0 {
			t.Errorf("node %d: queue not empty after the drain: %+v", n.id, info)
		}
	}
	c.checkDigestsAgree()
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkDigestsAgree waits (bounded) until every node reports its state digest at the same
// applied index, and fails the test if the digests then differ: a replica diverged.
func (c *e2eCluster) checkDigestsAgree() {
	c.t.Helper()
	var ds []*client.ClusterDigest
	for try := 0; try < 100; try++ {
		ds = ds[:0]
		for _, n := range c.nodes {
			if d, err := n.admin.ClusterDigest(context.Background()); err == nil {
				ds = append(ds, d)
			}
		}
		if len(ds) == len(c.nodes) && ds[0].Applied == ds[len(ds)-1].Applied && ds[0].Applied == ds[1].Applied {
			for _, d := range ds[1:] {
				if d.Digest != ds[0].Digest {
					c.t.Fatalf("replicas diverged: at applied index %d node %d has digest %s, node %d has %s", d.Applied, ds[0].ID, ds[0].Digest, d.ID, d.Digest)
				}
			}
			c.t.Logf("all %d replicas have state digest %s at applied index %d", len(ds), ds[0].Digest, ds[0].Applied)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("the nodes never reported their digests at one applied index: %+v", ds)
}

// TestE2EClusterMembership adds a fourth node with cmqctl cluster add and --join, removes
// another, refuses a removed id, and checks /readyz once a majority is gone.
func TestE2EClusterMembership(t *testing.T) {
	start := time.Now()
	c := newE2ECluster(t, 3)
	ctx := context.Background()
	const queue = "members"
	c.retry("create queue", func(n *e2eNode) error {
		_, err := n.api.CreateQueue(ctx, queue, nil)
		if client.CodeOf(err) == client.CodeQueueExists {
			return nil
		}
		return err
	})
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf("before-%02d", i)
		c.retry("send "+body, func(n *e2eNode) error { _, err := n.api.SendMessage(ctx, queue, body, 0); return err })
	}
	leader := c.leader()
	var follower *e2eNode
	for _, n := range c.nodes {
		if n != leader {
			follower = n
			break
		}
	}

	// cmqctl cluster status, human and JSON.
	out, errOut, code := ctlAdmin(t, endpointOf(follower), "cluster", "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("node %d: follower", follower.id)) || !strings.Contains(out, fmt.Sprintf("leader   %d (%s)", leader.id, leader.raftAddr())) {
		t.Fatalf("cmqctl cluster status: %d %q %q", code, out, errOut)
	}
	out, _, code = ctlAdmin(t, endpointOf(leader), "--json", "cluster", "status")
	if code != 0 || !strings.Contains(out, `"role":"leader"`) || !strings.Contains(out, `"ready":true`) {
		t.Fatalf("cmqctl --json cluster status: %d %q", code, out)
	}

	// Add node 4: a follower refuses and names the leader; the leader accepts.
	ports := pickPorts(t, 2)
	n4 := &e2eNode{id: 4, dir: filepath.Join(t.TempDir(), "node4"), httpPort: ports[0], raftPort: ports[1]}
	var members []string
	for _, n := range c.nodes {
		members = append(members, fmt.Sprintf("%d=%s", n.id, n.raftAddr()))
	}
	n4.args = c.flags(n4, "--join", "--peers", strings.Join(members, ","))
	_, errOut, code = ctlAdmin(t, endpointOf(follower), "cluster", "add", "--id", "4", "--addr", n4.raftAddr())
	if code != 1 || !strings.Contains(errOut, "not_leader") || !strings.Contains(errOut, fmt.Sprintf("node %d", leader.id)) {
		t.Fatalf("add through a follower: %d %q", code, errOut)
	}
	out, errOut, code = ctlAdmin(t, endpointOf(leader), "cluster", "add", "--id", "4", "--addr", n4.raftAddr())
	if code != 0 || !strings.Contains(out, "added node 4") || !strings.Contains(out, "--join --peers "+strings.Join(members, ",")+",4="+n4.raftAddr()) {
		t.Fatalf("cmqctl cluster add: %d %q %q", code, out, errOut)
	}
	c.nodes = append(c.nodes, n4)
	c.start(n4)
	n4.proc.waitReady(t)
	c.waitCaughtUp(n4)
	st := must(n4.admin.ClusterStatus(ctx))(t)
	if len(st.Peers) != 4 || st.Role != "follower" || st.Leader != leader.id {
		t.Fatalf("node 4's status: %+v", st)
	}
	// Node 4 serves reads and writes.
	if info := must(n4.api.GetQueueAttributes(ctx, queue))(t); info.ActiveMsgNum != 20 {
		t.Fatalf("node 4 sees %+v", info)
	}
	m := must(n4.api.ReceiveMessage(ctx, queue, 0))(t)
	if m.Body != "before-00" {
		t.Fatalf("node 4 received %+v", m)
	}
	if err := n4.api.DeleteMessage(ctx, queue, m.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if info := must(leader.api.GetQueueAttributes(ctx, queue))(t); info.ActiveMsgNum != 19 {
		t.Fatalf("the leader after node 4's delete: %+v", info)
	}
	t.Logf("node 4 joined and caught up; %v so far", time.Since(start).Round(time.Millisecond))

	// Removing the leader is refused; remove the follower instead, then stop it.
	if _, errOut, code := ctlAdmin(t, endpointOf(leader), "cluster", "remove", "--id", strconv.FormatUint(leader.id, 10)); code != 1 || !strings.Contains(errOut, "remove_leader") {
		t.Fatalf("remove the leader: %d %q", code, errOut)
	}
	out, errOut, code = ctlAdmin(t, endpointOf(leader), "cluster", "remove", "--id", strconv.FormatUint(follower.id, 10))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("removed node %d", follower.id)) {
		t.Fatalf("cmqctl cluster remove: %d %q %q", code, out, errOut)
	}
	if code := follower.proc.stop(t); code != 0 {
		t.Fatalf("removed node exited %d", code)
	}
	if st := must(leader.admin.ClusterStatus(ctx))(t); len(st.Peers) != 3 || st.PeerAddr(follower.id) != "" {
		t.Fatalf("members after the removal: %+v", st.Peers)
	}
	// Its id is never reused.
	_, errOut, code = ctlAdmin(t, endpointOf(leader), "cluster", "add", "--id", strconv.FormatUint(follower.id, 10), "--addr", "127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "id_reused") {
		t.Fatalf("re-adding removed id %d: %d %q", follower.id, code, errOut)
	}
	// The group of three (two old, node 4) still commits.
	c.retry("send after the removal", func(n *e2eNode) error { _, err := n.api.SendMessage(ctx, queue, "after", 0); return err })
	if info := must(n4.api.GetQueueAttributes(ctx, queue))(t); info.ActiveMsgNum != 20 {
		t.Fatalf("node 4 after the removal: %+v", info)
	}

	// /readyz follows the node: with two of the three voters gone the last one has no leader
	// and is not ready.
	var last *e2eNode
	for _, n := range c.nodes {
		if n.running() && n != leader && n != n4 {
			last = n
		}
	}
	c.kill(leader)
	c.kill(n4)
	deadline := time.Now().Add(15 * time.Second)
	for readyz(last) != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatalf("node %d still ready without a majority: %+v", last.id, must(last.admin.ClusterStatus(ctx))(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := must(last.admin.ClusterStatus(ctx))(t); st.Ready || st.Role == "leader" {
		t.Fatalf("node %d without a majority: %+v", last.id, st)
	}
	if code := last.proc.stop(t); code != 0 {
		t.Fatalf("last node exited %d", code)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}
