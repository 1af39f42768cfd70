package main

// The drain: after the load and the final heal, consume every queue until it stays empty,
// deleting everything, with every receive and delete going into the history like the
// workload's. A queue counts as empty after three empty receives in a row once quietPeriod
// has passed since anything was last received anywhere: by then every lease taken before
// has run out and every delayed message has come due.

import (
	"context"
	"fmt"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// drainIdle is the pause after a round in which every queue was empty.
const drainIdle = 250 * time.Millisecond

// drain empties the workload queues, within budget. It returns how many messages it
// received, and an error if the queues did not stay empty within the budget.
func (w *workload) drain(budget time.Duration) (int, error) {
	start := time.Now()
	quiet := quietPeriod()
	lastSeen := start
	empties := map[string]int{}
	received := 0
	for round := 0; time.Since(start) < budget; round++ {
		done := time.Since(lastSeen) >= quiet
		for _, q := range workloadQueues {
			if empties[q.name] < 3 {
				done = false
			}
		}
		if done {
			return received, nil
		}
		got := false
		for i, q := range workloadQueues {
			switch n := w.drainOnce(q.name, 1+(round+i)%numNodes); {
			case n > 0:
				received += n
				lastSeen, got = time.Now(), true
				empties[q.name] = 0
			case n == 0:
				empties[q.name]++
			}
		}
		if !got {
			time.Sleep(drainIdle)
		}
	}
	return received, fmt.Errorf("the queues did not stay empty within %v", budget)
}

// drainOnce receives up to 16 messages of queue through node nodeID without waiting and
// deletes them in one batch. It returns how many it received, 0 for "no message", and -1
// for an error.
func (w *workload) drainOnce(queue string, nodeID int) int {
	invoke := time.Now()
	msgs, err := w.c.api[nodeID-1].BatchReceiveMessage(context.Background(), queue, 16, 0)
	complete := time.Now()
	if client.IsNoMessage(err) {
		err = nil
	}
	o := Op{Worker: "drain", Op: opReceive, Queue: queue, Node: nodeID, Invoke: unixMs(invoke), Complete: unixMs(complete), Type: classify(err), Err: errText(err)}
	for _, m := range msgs {
		o.Msgs = append(o.Msgs, deliveryOf(m))
	}
	w.h.add(o)
	if err != nil {
		time.Sleep(drainIdle)
		return -1
	}
	w.delBatch("drain", queue, nodeID, o.Msgs)
	return len(msgs)
}
