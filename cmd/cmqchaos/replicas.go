package main

// Replica agreement after the drain: every node reports every queue empty (reads are served
// from the answering node's own state), and every node reports the same digest of its whole
// replicated state (GET /cluster/digest) at the same applied index.

import (
	"context"
	"fmt"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// ReplicaReport is what the replica checks found.
type ReplicaReport struct {
	Applied  uint64   `json:"applied"` // the index the digests were compared at
	Digest   string   `json:"digest"`
	Problems []string `json:"problems,omitempty"`
}

// compareReplicas runs the replica checks within budget.
func compareReplicas(c *cluster, budget time.Duration) ReplicaReport {
	var rep ReplicaReport
	end := time.Now().Add(budget)
	for _, q := range workloadQueues {
		for i := range c.nodes {
			var info *client.QueueInfo
			var err error
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				info, err = c.api[i].GetQueueAttributes(ctx, q.name)
				cancel()
				if err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			switch {
			case err != nil:
				rep.Problems = append(rep.Problems, fmt.Sprintf("node %d: queue %s: %v", i+1, q.name, err))
			case info.ActiveMsgNum+info.InactiveMsgNum+info.DelayMsgNum != 0:
				rep.Problems = append(rep.Problems, fmt.Sprintf("node %d: queue %s not empty after the drain: active %d, inactive %d, delayed %d",
					i+1, q.name, info.ActiveMsgNum, info.InactiveMsgNum, info.DelayMsgNum))
			}
		}
	}
	// Digests: ask until all nodes answer at one applied index (the cluster is quiet now,
	// but an answer may land between two entries).
	var last []*client.ClusterDigest
	for time.Now().Before(end) {
		last = last[:0]
		for i := range c.nodes {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			d, err := c.admin[i].ClusterDigest(ctx)
			cancel()
			if err == nil {
				last = append(last, d)
			}
		}
		if len(last) == numNodes && last[0].Applied == last[1].Applied && last[1].Applied == last[2].Applied {
			rep.Applied, rep.Digest = last[0].Applied, last[0].Digest
			for _, d := range last[1:] {
				if d.Digest != last[0].Digest {
					rep.Problems = append(rep.Problems, fmt.Sprintf("replicas diverged at applied index %d: node %d has digest %s, node %d has %s",
						d.Applied, last[0].ID, last[0].Digest, d.ID, d.Digest))
				}
			}
			return rep
		}
		time.Sleep(200 * time.Millisecond)
	}
	rep.Problems = append(rep.Problems, fmt.Sprintf("the nodes never reported their digests at one applied index within %v: %+v", budget, last))
	return rep
}
