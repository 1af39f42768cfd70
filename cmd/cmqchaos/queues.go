package main

// The queues of a run, each exercising one part of CMQ's semantics, and their creation.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// queueDef is one queue of the run.
type queueDef struct {
	name       string
	visibility int64  // visibilityTimeout, seconds
	deadLetter string // dead-letter queue ("" none)
	maxReceive int64  // maxReceiveCount of the dead-letter policy
	maxDelay   int64  // producers send with delaySeconds 1..maxDelay (0: no delay)
	sendWeight int    // share of the producers' sends
	recvWeight int    // share of the consumers' receives
}

// canaryQueue carries only the recovery checks' canaries; it is not part of the history.
const canaryQueue = "canary"

// workloadQueues, in creation order (a dead-letter queue before the queue that uses it).
var workloadQueues = []queueDef{
	{name: "plain", visibility: 5, sendWeight: 3, recvWeight: 3},
	{name: "dead-letters", visibility: 5, recvWeight: 1},
	// Consumers leave some of its messages undeleted, so they move after 3 receives.
	{name: "with-dlq", visibility: 2, deadLetter: "dead-letters", maxReceive: 3, sendWeight: 2, recvWeight: 2},
	{name: "short-lease", visibility: 2, sendWeight: 2, recvWeight: 2},
	{name: "delayed", visibility: 5, maxDelay: 8, sendWeight: 2, recvWeight: 2},
}

// checkConfig is what the checker needs to know about the queues.
func checkConfig() CheckConfig {
	cfg := CheckConfig{ToleranceMs: 1000, Queues: map[string]QueueSpec{}}
	for _, q := range workloadQueues {
		cfg.Queues[q.name] = QueueSpec{Visibility: q.visibility, DeadLetter: q.deadLetter, MaxReceive: q.maxReceive}
	}
	return cfg
}

// quietPeriod is how long a drained queue must stay empty: any lease still out and any
// delay still pending has run out by then.
func quietPeriod() time.Duration {
	var vis, delay int64
	for _, q := range workloadQueues {
		vis, delay = max(vis, q.visibility), max(delay, q.maxDelay)
	}
	return time.Duration(vis+delay+2) * time.Second
}

// createQueues creates every queue (and the canary queue), retrying through the nodes
// until deadline. "Already exists" is success: an earlier attempt whose answer was lost.
func createQueues(c *cluster, deadline time.Time) error {
	defs := append(append([]queueDef(nil), workloadQueues...), queueDef{name: canaryQueue, visibility: 2})
	for _, q := range defs {
		attrs := &client.QueueAttributes{VisibilityTimeout: client.Int64(q.visibility), PollingWaitSeconds: client.Int64(0)}
		if q.deadLetter != "" {
			attrs.DeadLetterPolicy = &client.DeadLetterPolicy{Queue: q.deadLetter, Policy: 0, MaxReceiveCount: q.maxReceive}
		}
		err := errors.New("no time left")
		for i := 0; time.Now().Before(deadline); i++ {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			_, err = c.api[i%numNodes].CreateQueue(ctx, q.name, attrs)
			cancel()
			if err == nil || client.CodeOf(err) == client.CodeQueueExists {
				err = nil
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("creating queue %s: %w", q.name, err)
		}
	}
	return nil
}
