package main

// The cluster as the checker sees it: the three nodes, a CMQ client and an admin client for
// each (all requests leave from clientIP), and the questions asked of them: who leads, is
// everyone caught up, does a canary message go through every node.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/httpapi"
	"github.com/opencmq/opencmq/httpapi/client"
)

// requestTimeout bounds every request of the checker (receives get their wait on top).
const requestTimeout = 5 * time.Second

// The account the run uses (fixed: the run's namespace is private anyway).
var chaosAccount = httpapi.Account{Namespace: "chaos", SecretID: "AKIDchaos000000000000000000000000000", SecretKey: "chaosSecretKey000000000000000000"}

const adminToken = "cmqchaos-admin-token-0123456789"

type cluster struct {
	runDir string
	nodes  []*node
	api    []*client.Client // by node index (id-1)
	admin  []*client.Client
	canary atomic.Int64
}

// newCluster prepares the node slots (not started) and their clients.
func newCluster(runDir, bin string, pids *os.File) (*cluster, error) {
	accounts := filepath.Join(runDir, "accounts.json")
	b, _ := json.Marshal([]httpapi.Account{chaosAccount})
	if err := os.WriteFile(accounts, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(runDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: clientTransport()}
	c := &cluster{runDir: runDir}
	for id := 1; id <= numNodes; id++ {
		n := &node{id: id, dir: nodeDir(runDir, id), bin: bin, pids: pids,
			args: nodeFlags(id, runDir, accounts, adminToken), logPath: filepath.Join(runDir, "logs", fmt.Sprintf("n%d.log", id))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return nil, err
		}
		endpoint := "http://" + n.httpAddr()
		api, err := client.New(endpoint, chaosAccount.SecretID, chaosAccount.SecretKey, client.WithHTTPClient(hc), client.WithTimeout(requestTimeout))
		if err != nil {
			return nil, err
		}
		admin, err := client.NewAdmin(endpoint, adminToken, client.WithHTTPClient(hc), client.WithTimeout(2*time.Second))
		if err != nil {
			return nil, err
		}
		c.nodes, c.api, c.admin = append(c.nodes, n), append(c.api, api), append(c.admin, admin)
	}
	return c, nil
}

// clientTransport is the checker's HTTP transport: connections from clientIP, no proxy
// (an environment's proxy settings must never send the run's traffic elsewhere).
func clientTransport() *http.Transport {
	t := client.NewTransport()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}}).DialContext
	return t
}

func (c *cluster) node(id int) *node { return c.nodes[id-1] }

// startAll starts every node that is not running.
func (c *cluster) startAll() error {
	for _, n := range c.nodes {
		if err := n.start(); err != nil {
			return err
		}
	}
	return nil
}

// statuses asks every running, unpaused node for its status; missing answers are nil.
func (c *cluster) statuses() []*client.ClusterStatus {
	out := make([]*client.ClusterStatus, numNodes)
	for i, n := range c.nodes {
		if !n.running() || n.isPaused() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := c.admin[i].ClusterStatus(ctx)
		cancel()
		if err == nil {
			out[i] = st
		}
	}
	return out
}

// leader returns the id of the node that says it leads in the highest term (0: none).
func (c *cluster) leader() int {
	var best *client.ClusterStatus
	for _, st := range c.statuses() {
		if st != nil && st.Role == "leader" && (best == nil || st.Term > best.Term) {
			best = st
		}
	}
	if best == nil {
		return 0
	}
	return int(best.ID)
}

// settled reports whether every node answers, is ready, names the same leader (which says
// it leads), and has applied everything it knows to be committed.
func (c *cluster) settled() (bool, string) {
	sts := c.statuses()
	var lead uint64
	for i, st := range sts {
		switch {
		case st == nil:
			return false, fmt.Sprintf("node %d does not answer", i+1)
		case !st.Ready:
			return false, fmt.Sprintf("node %d is not ready", i+1)
		case st.Leader == 0 || (lead != 0 && st.Leader != lead):
			return false, fmt.Sprintf("node %d names leader %d", i+1, st.Leader)
		case st.Applied != st.Commit:
			return false, fmt.Sprintf("node %d applied %d of %d committed", i+1, st.Applied, st.Commit)
		}
		lead = st.Leader
	}
	if sts[lead-1].Role != "leader" {
		return false, fmt.Sprintf("node %d is named leader but is %s", lead, sts[lead-1].Role)
	}
	return true, ""
}

// canaryRoundTrip sends a message to the canary queue through node id, receives it through
// the same node and deletes it. Other canaries found on the way (left by an earlier attempt
// that failed halfway) are deleted too.
func (c *cluster) canaryRoundTrip(ctx context.Context, id int) error {
	api := c.api[id-1]
	body := fmt.Sprintf("canary-%d-%d", id, c.canary.Add(1))
	if _, err := api.SendMessage(ctx, canaryQueue, body, 0); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	for i := 0; i < 5; i++ {
		msgs, err := api.BatchReceiveMessage(ctx, canaryQueue, 16, 1)
		if client.IsNoMessage(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		found := false
		for _, m := range msgs {
			derr := api.DeleteMessage(ctx, canaryQueue, m.ReceiptHandle)
			if m.Body == body {
				if derr != nil {
					return fmt.Errorf("delete: %w", derr)
				}
				found = true
			}
		}
		if found {
			return nil
		}
	}
	return errors.New("the canary did not come back")
}

// awaitRecovery waits until the cluster is settled and a canary goes through every node,
// or until deadline. It returns how long that took, or an error saying what was still
// wrong at the deadline.
func (c *cluster) awaitRecovery(deadline time.Duration) (time.Duration, error) {
	start := time.Now()
	end := start.Add(deadline)
	why := "not checked"
	for time.Now().Before(end) {
		if ok, w := c.settled(); !ok {
			why = w
			time.Sleep(200 * time.Millisecond)
			continue
		}
		ok := true
		for id := 1; id <= numNodes && ok; id++ {
			ctx, cancel := context.WithDeadline(context.Background(), end)
			if err := c.canaryRoundTrip(ctx, id); err != nil {
				why, ok = fmt.Sprintf("canary through node %d: %v", id, err), false
			}
			cancel()
		}
		if ok {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("not recovered within %v: %s", deadline, why)
}

// pick returns a random element of ids (0 if empty).
func pick(r *rand.Rand, ids []int) int {
	if len(ids) == 0 {
		return 0
	}
	return ids[r.IntN(len(ids))]
}
