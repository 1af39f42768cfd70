package main

// The workload: producers send self-checking messages, consumers receive them and delete,
// abandon, delete late or delete twice, all through the nodes in turn, and every operation
// goes into the history. No operation is retried: a retry would be a new send of the same
// message, and indeterminate outcomes are what the checker has to reason about anyway.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/httpapi/client"
)

// Bounds of one worker.
const (
	maxOpsPerWorker = 20000
	workerPause     = 20 * time.Millisecond // between operations: keeps a run modest on 2 cores
)

// bodySizes are the padding sizes producers draw from (weights in bodySizeWeights).
var (
	bodySizes       = []int{1, 100, 1024, 4096, 16384}
	bodySizeWeights = []int{2, 3, 3, 2, 1}
)

// workload runs the workers until its context ends.
type workload struct {
	c    *cluster
	h    *history
	seed uint64
}

// run starts producers and consumers and waits until ctx ends and every worker has
// finished its operation in flight.
func (w *workload) run(ctx context.Context, producers, consumers int) {
	var wg sync.WaitGroup
	for i := 1; i <= producers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.produce(ctx, fmt.Sprintf("p%d", i), rand.New(rand.NewPCG(w.seed, uint64(i))))
		}()
	}
	for i := 1; i <= consumers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.consume(ctx, fmt.Sprintf("c%d", i), rand.New(rand.NewPCG(w.seed, uint64(1000+i))))
		}()
	}
	wg.Wait()
}

// weighted picks an index by weight.
func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func pickQueue(r *rand.Rand, weight func(queueDef) int) queueDef {
	ws := make([]int, len(workloadQueues))
	for i, q := range workloadQueues {
		ws[i] = weight(q)
	}
	return workloadQueues[weighted(r, ws)]
}

// pause waits workerPause unless ctx ends; it reports whether to go on.
func pause(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(workerPause):
		return true
	}
}

// produce sends single messages and batches of 2-6, each to a queue drawn by weight.
func (w *workload) produce(ctx context.Context, name string, r *rand.Rand) {
	seq := 0
	for op := 0; op < maxOpsPerWorker && pause(ctx); op++ {
		q := pickQueue(r, func(q queueDef) int { return q.sendWeight })
		var delay int64
		if q.maxDelay > 0 {
			delay = 1 + r.Int64N(q.maxDelay)
		}
		n := 1
		if r.IntN(5) == 0 {
			n = 2 + r.IntN(5)
		}
		ids, bodies := make([]string, n), make([]string, n)
		for i := range bodies {
			seq++
			ids[i] = fmt.Sprintf("%s-%d", name, seq)
			bodies[i] = makeBody(ids[i], bodySizes[weighted(r, bodySizeWeights)], r)
		}
		nodeID := 1 + (op+r.IntN(numNodes))%numNodes
		api := w.c.api[nodeID-1]
		invoke := time.Now()
		var msgIDs []string
		var err error
		if n == 1 {
			var id string
			id, err = api.SendMessage(context.Background(), q.name, bodies[0], delay)
			msgIDs = []string{id}
		} else {
			msgIDs, err = api.BatchSendMessage(context.Background(), q.name, bodies, delay)
		}
		complete := time.Now()
		outcome := classify(err)
		for i := range bodies {
			o := Op{Worker: name, Op: opSend, Queue: q.name, Node: nodeID, Invoke: unixMs(invoke), Complete: unixMs(complete),
				Type: outcome, Err: errText(err), ID: ids[i], Delay: delay, Sum: bodySum(bodies[i])}
			if err == nil && i < len(msgIDs) {
				o.MsgID = msgIDs[i]
			}
			w.h.add(o)
		}
	}
}

// Consumer actions on a received message.
const (
	actDelete      = iota // delete at once
	actAbandon            // let the lease run out
	actDeleteLate         // delete after the lease ran out: the server must refuse
	actDeleteTwice        // delete, then delete again through another node
)

var actionWeights = []int{70, 20, 5, 5}

// neverDeleted reports whether consumers leave message id alone on a queue with a
// dead-letter policy (one in ten), so that it moves to the dead-letter queue.
func neverDeleted(q queueDef, id string) bool {
	return q.deadLetter != "" && xxhash.Sum64String(id)%10 == 0
}

// consume receives batches of 1-8 (long polling 1 s) and acts on each message: the
// messages to delete at once go in one BatchDeleteMessage (one DeleteMessage if alone);
// late deletes run in the background so the consumer keeps going.
func (w *workload) consume(ctx context.Context, name string, r *rand.Rand) {
	var late sync.WaitGroup
	defer late.Wait()
	for op := 0; op < maxOpsPerWorker && pause(ctx); op++ {
		q := pickQueue(r, func(q queueDef) int { return q.recvWeight })
		nodeID := 1 + (op+r.IntN(numNodes))%numNodes
		api := w.c.api[nodeID-1]
		invoke := time.Now()
		msgs, err := api.BatchReceiveMessage(context.Background(), q.name, 1+r.IntN(8), 1)
		complete := time.Now()
		if client.IsNoMessage(err) {
			err, msgs = nil, nil
		}
		o := Op{Worker: name, Op: opReceive, Queue: q.name, Node: nodeID, Invoke: unixMs(invoke), Complete: unixMs(complete),
			Type: classify(err), Err: errText(err)}
		for _, m := range msgs {
			o.Msgs = append(o.Msgs, deliveryOf(m))
		}
		w.h.add(o)
		var now, twice []Delivery
		for _, d := range o.Msgs {
			if neverDeleted(q, d.ID) {
				continue
			}
			switch weighted(r, actionWeights) {
			case actDelete:
				now = append(now, d)
			case actDeleteTwice:
				twice = append(twice, d)
			case actDeleteLate:
				// After the lease has certainly run out (beyond the checker's tolerance):
				// the server must refuse it.
				wait := time.Duration(q.visibility)*time.Second + time.Duration(checkConfig().ToleranceMs)*time.Millisecond + 500*time.Millisecond
				late.Add(1)
				time.AfterFunc(wait-time.Since(complete), func() {
					defer late.Done()
					w.del(name, q.name, nodeID, d)
				})
			}
		}
		w.delBatch(name, q.name, nodeID, now)
		for _, d := range twice {
			w.del(name, q.name, nodeID, d)
			w.del(name, q.name, 1+nodeID%numNodes, d)
		}
	}
}

// deliveryOf verifies a received message's body and makes its history record.
func deliveryOf(m client.Message) Delivery {
	d := Delivery{MsgID: m.MsgID, Handle: m.ReceiptHandle, Sum: bodySum(m.Body), Count: m.DequeueCount}
	id, err := parseBody(m.Body)
	d.ID = id
	if err != nil {
		d.Bad = err.Error()
	}
	return d
}

// delBatch deletes delivered messages through node nodeID, in one BatchDeleteMessage when
// there are several, and records each outcome.
func (w *workload) delBatch(worker, queue string, nodeID int, ds []Delivery) {
	switch len(ds) {
	case 0:
		return
	case 1:
		w.del(worker, queue, nodeID, ds[0])
		return
	}
	handles := make([]string, len(ds))
	for i, d := range ds {
		handles[i] = d.Handle
	}
	invoke := time.Now()
	errs, err := w.c.api[nodeID-1].BatchDeleteMessage(context.Background(), queue, handles)
	complete := time.Now()
	for i, d := range ds {
		// Per-handle results when the server answered the batch; the batch's error
		// otherwise (errs is nil then).
		e := err
		if errs != nil {
			e = errs[i]
		}
		w.h.add(Op{Worker: worker, Op: opDelete, Queue: queue, Node: nodeID, Invoke: unixMs(invoke), Complete: unixMs(complete),
			Type: classify(e), Err: errText(e), ID: d.ID, MsgID: d.MsgID, Handle: d.Handle})
	}
}

// del deletes one delivered message through node nodeID and records the outcome.
func (w *workload) del(worker, queue string, nodeID int, d Delivery) {
	invoke := time.Now()
	err := w.c.api[nodeID-1].DeleteMessage(context.Background(), queue, d.Handle)
	w.h.add(Op{Worker: worker, Op: opDelete, Queue: queue, Node: nodeID, Invoke: unixMs(invoke), Complete: unixMs(time.Now()),
		Type: classify(err), Err: errText(err), ID: d.ID, MsgID: d.MsgID, Handle: d.Handle})
}
