package main

import (
	"context"
	"maps"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/opencmq/opencmq/httpapi/client"
)

// hist builds synthetic histories for the checker.
type hist struct {
	ops    []Op
	bodies map[string]string
	r      *rand.Rand
}

func newHist() *hist { return &hist{bodies: map[string]string{}, r: rand.New(rand.NewPCG(1, 2))} }

func (h *hist) body(id string) string {
	if b, ok := h.bodies[id]; ok {
		return b
	}
	b := makeBody(id, 20, h.r)
	h.bodies[id] = b
	return b
}

func (h *hist) send(queue, id, outcome string, invoke, complete, delay int64) {
	h.ops = append(h.ops, Op{Worker: "p1", Op: opSend, Queue: queue, Invoke: invoke, Complete: complete, Type: outcome,
		ID: id, Delay: delay, Sum: bodySum(h.body(id)), MsgID: "m-" + id})
}

// dv is a delivery of id's body as copy msgID with a handle.
func (h *hist) dv(id, msgID, handle string, count int64) Delivery {
	return Delivery{ID: id, MsgID: msgID, Handle: handle, Sum: bodySum(h.body(id)), Count: count}
}

func (h *hist) recv(queue string, invoke, complete int64, ds ...Delivery) {
	h.ops = append(h.ops, Op{Worker: "c1", Op: opReceive, Queue: queue, Invoke: invoke, Complete: complete, Type: outcomeOK, Msgs: ds})
}

func (h *hist) del(queue, handle, outcome string, invoke, complete int64) {
	h.ops = append(h.ops, Op{Worker: "c1", Op: opDelete, Queue: queue, Invoke: invoke, Complete: complete, Type: outcome, Handle: handle})
}

var testCfg = CheckConfig{ToleranceMs: 500, Queues: map[string]QueueSpec{
	"q":   {Visibility: 2},
	"z":   {Visibility: 5},
	"d":   {Visibility: 2, DeadLetter: "dlq", MaxReceive: 3},
	"dlq": {Visibility: 5},
}}

func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		build func(h *hist)
		want  map[string]int // violation kind → count
		check func(t *testing.T, r Report)
	}{
		{"clean send, receive, delete", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeOK, 40, 50)
		}, nil, func(t *testing.T, r Report) {
			if r.SendsAcked != 1 || r.MessagesDelivered != 1 || r.DeletesAcked != 1 || r.Lost != 0 {
				t.Errorf("counts: %+v", r)
			}
		}},
		{"lost acknowledged send", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.send("q", "b", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("b", "m-b", "h1", 1))
			h.del("q", "h1", outcomeOK, 40, 50)
		}, map[string]int{vLost: 1}, func(t *testing.T, r Report) {
			if r.Lost != 1 || r.Violations[0].ID != "a" {
				t.Errorf("lost: %+v", r.Violations)
			}
		}},
		{"indeterminate send: neither lost if absent nor unexpected if present", func(h *hist) {
			h.send("q", "a", outcomeInfo, 0, 5000, 0)
			h.send("q", "b", outcomeInfo, 0, 5000, 0)
			h.recv("q", 6000, 6010, h.dv("b", "m-b", "h1", 1))
			h.del("q", "h1", outcomeOK, 6020, 6030)
		}, nil, func(t *testing.T, r Report) {
			if r.SendsIndeterminate != 2 || r.Lost != 0 {
				t.Errorf("counts: %+v", r)
			}
		}},
		{"resurrected after an acknowledged delete", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeOK, 40, 50)
			h.recv("q", 9000, 9010, h.dv("a", "m-a", "h2", 2))
			h.del("q", "h2", outcomeOK, 9020, 9030)
		}, map[string]int{vResurrected: 1}, func(t *testing.T, r Report) {
			if r.Duplicates.Resurrected != 1 {
				t.Errorf("duplicates: %+v", r.Duplicates)
			}
		}},
		{"redelivered after an indeterminate delete (a timeout) is allowed", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeInfo, 40, 5040)
			h.recv("q", 9000, 9010, h.dv("a", "m-a", "h2", 2))
			h.del("q", "h2", outcomeOK, 9020, 9030)
		}, nil, func(t *testing.T, r Report) {
			if r.Duplicates.AfterFailedDelete != 1 || r.DeletesUnknown != 1 {
				t.Errorf("duplicates: %+v", r)
			}
		}},
		{"a receive overlapping the delete is not a resurrection", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeOK, 1900, 2600)
			h.recv("q", 2500, 2510, h.dv("a", "m-a", "h2", 2))
			h.del("q", "h2", outcomeOK, 2520, 2530)
		}, nil, nil},
		{"early delayed message", func(h *hist) {
			h.send("z", "a", outcomeOK, 1000, 1010, 5)
			h.recv("z", 2000, 3000, h.dv("a", "m-a", "h1", 1))
			h.del("z", "h1", outcomeOK, 3010, 3020)
			h.send("z", "b", outcomeOK, 1000, 1010, 5)
			h.recv("z", 5000, 5800, h.dv("b", "m-b", "h2", 1)) // within the tolerance
			h.del("z", "h2", outcomeOK, 5810, 5820)
		}, map[string]int{vEarlyDelay: 1}, nil},
		{"redelivery before the visibility timeout", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 1000, 1010, h.dv("a", "m-a", "h1", 1))
			h.recv("q", 1500, 2000, h.dv("a", "m-a", "h2", 2))
			h.recv("q", 3900, 4100, h.dv("a", "m-a", "h3", 3)) // 2 s after h2's receive began: fine
			h.del("q", "h3", outcomeOK, 4200, 4210)
		}, map[string]int{vEarlyRedel: 1}, func(t *testing.T, r Report) {
			if r.Duplicates.AfterTimeout != 2 {
				t.Errorf("duplicates: %+v", r.Duplicates)
			}
		}},
		{"a long poll begun first and served after the lease ran out is no early redelivery", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 1000, 3900, h.dv("a", "m-a", "h2", 2)) // long poll, served last
			h.recv("q", 1003, 1008, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h2", outcomeOK, 3910, 3920)
		}, nil, func(t *testing.T, r Report) {
			if r.Duplicates.AfterTimeout != 1 {
				t.Errorf("duplicates: %+v", r.Duplicates)
			}
		}},
		{"two overlapping receives within a lease are an early redelivery either way", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 1000, 1500, h.dv("a", "m-a", "h2", 2))
			h.recv("q", 1003, 1008, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h2", outcomeOK, 1510, 1520)
		}, map[string]int{vEarlyRedel: 1}, nil},
		{"unexpected messages", func(h *hist) {
			h.send("q", "a", outcomeFail, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1), h.dv("ghost", "m-g", "h2", 1))
			h.del("q", "h1", outcomeOK, 40, 50)
			h.del("q", "h2", outcomeOK, 40, 50)
			h.send("q", "b", outcomeOK, 0, 10, 0)
			h.recv("z", 20, 30, h.dv("b", "m-b", "h3", 1)) // from a queue it was not sent to
		}, map[string]int{vUnexpected: 3, vLost: 1}, nil},
		{"corrupt bodies", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.send("q", "b", outcomeOK, 0, 10, 0)
			bad := h.dv("a", "m-a", "h1", 1)
			bad.Bad = "padding checksum differs"
			other := h.dv("b", "m-b", "h2", 1)
			other.Sum = "0000000000000000"
			h.recv("q", 20, 30, bad, other)
			h.del("q", "h1", outcomeOK, 40, 50)
			h.del("q", "h2", outcomeOK, 40, 50)
		}, map[string]int{vCorrupt: 2, vLost: 2}, nil},
		{"vanished after a failed delete", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeFail, 40, 50)
		}, map[string]int{vVanished: 1}, nil},
		{"dead-lettered after maxReceiveCount receives", func(h *hist) {
			h.send("d", "a", outcomeOK, 0, 10, 0)
			h.recv("d", 100, 110, h.dv("a", "m-a", "h1", 1))
			h.recv("d", 2200, 2210, h.dv("a", "m-a", "h2", 2))
			h.recv("d", 4300, 4310, h.dv("a", "m-a", "h3", 3))
			h.recv("dlq", 4000, 6500, h.dv("a", "m-x", "h4", 1)) // long poll begun before the move
			h.del("dlq", "h4", outcomeOK, 6510, 6520)
		}, nil, func(t *testing.T, r Report) {
			if r.DeadLettered != 1 {
				t.Errorf("dead-lettered: %+v", r)
			}
		}},
		{"received more often than the dead-letter policy allows", func(h *hist) {
			h.send("d", "a", outcomeOK, 0, 10, 0)
			for i := int64(0); i < 4; i++ {
				h.recv("d", 100+i*2100, 110+i*2100, h.dv("a", "m-a", "h"+string(rune('1'+i)), i+1))
			}
			h.del("d", "h4", outcomeOK, 7000, 7010)
		}, map[string]int{vOverReceive: 1}, nil},
		{"in the dead-letter queue although deleted from its source", func(h *hist) {
			h.send("d", "a", outcomeOK, 0, 10, 0)
			h.recv("d", 100, 110, h.dv("a", "m-a", "h1", 1))
			h.del("d", "h1", outcomeOK, 120, 130)
			h.recv("dlq", 3000, 3010, h.dv("a", "m-x", "h2", 1))
			h.del("dlq", "h2", outcomeOK, 3020, 3030)
		}, map[string]int{vDLQDeleted: 1}, nil},
		{"delete acknowledged after the lease ended", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1))
			h.del("q", "h1", outcomeOK, 4000, 4010)
		}, map[string]int{vStaleDelete: 1}, nil},
		{"a send stored twice is a counted duplicate, not a violation", func(h *hist) {
			h.send("q", "a", outcomeOK, 0, 10, 0)
			h.recv("q", 20, 30, h.dv("a", "m-a", "h1", 1), h.dv("a", "m-a2", "h2", 1))
			h.del("q", "h1", outcomeOK, 40, 50)
			h.del("q", "h2", outcomeOK, 40, 50)
		}, nil, func(t *testing.T, r Report) {
			if r.Duplicates.DuplicateEnqueue != 1 {
				t.Errorf("duplicates: %+v", r.Duplicates)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHist()
			c.build(h)
			r := Check(h.ops, testCfg)
			want := c.want
			if want == nil {
				want = map[string]int{}
			}
			got := r.ViolationCounts
			if got == nil {
				got = map[string]int{}
			}
			if !maps.Equal(got, want) {
				t.Errorf("violations %v, want %v: %+v", got, want, r.Violations)
			}
			if r.OK() != (len(want) == 0) {
				t.Errorf("OK() = %v", r.OK())
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestBody(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 100, 4096} {
		b := makeBody("p1-7", n, r)
		if id, err := parseBody(b); err != nil || id != "p1-7" {
			t.Fatalf("n=%d: %q %v", n, id, err)
		}
		if n == 0 {
			continue
		}
		for _, damaged := range []string{
			b[:len(b)-1],                        // cut
			b + "x",                             // padded
			b[:len(b)-1] + "\x00",               // a byte changed
			strings.Replace(b, ";h=", ";x=", 1), // a field lost
		} {
			if _, err := parseBody(damaged); err == nil {
				t.Errorf("n=%d: damaged body %.60q accepted", n, damaged)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	dial := &url.Error{Op: "Post", URL: "http://127.0.0.1:8080", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	reset := &url.Error{Op: "Post", URL: "http://127.0.0.1:8080", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, outcomeOK},
		{&client.Error{Code: 4430}, outcomeFail},
		{&client.Error{Code: 6000}, outcomeInfo},
		{&client.HTTPError{StatusCode: 503}, outcomeInfo},
		{dial, outcomeFail},
		{reset, outcomeInfo},
		{context.DeadlineExceeded, outcomeInfo},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
