package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/segment"
	"github.com/opencmq/opencmq/segment/vfs"
)

// digest hashes the whole state: the checkpoint encoding plus every stored message.
func (sm *stateMachine) digest(t *testing.T) uint64 {
	t.Helper()
	h := xxhash.New()
	h.Write(sm.encodeState(nil))
	if err := sm.hashMessages(h); err != nil {
		t.Fatalf("digest: %v", err)
	}
	return h.Sum64()
}

// randomCommands generates a command log over a few queues, with handles taken from what
// earlier receives returned, so deletes and visibility changes hit real, stale and deleted
// leases. Times mostly move forward and sometimes jump back (apply must clamp them).
type commandGen struct {
	r       *rand.Rand
	now     int64
	handles []string
}

func (g *commandGen) next() *Command {
	queues := []string{"a", "b", "dlq"}
	c := &Command{Namespace: "ns", Queue: queues[g.r.IntN(2)]}
	switch g.r.IntN(20) {
	case 0:
		g.now -= int64(g.r.IntN(2000))
	default:
		g.now += int64(g.r.IntN(3000))
	}
	c.Now = g.now
	switch k := g.r.IntN(100); {
	case k < 3:
		c.Type = CmdCreateQueue
		c.Queue = queues[g.r.IntN(3)]
		c.Attrs = DefaultQueueAttributes()
		c.Attrs.VisibilityTimeout = int64(1 + g.r.IntN(5))
		c.Attrs.MsgRetentionSeconds = int64(60 + g.r.IntN(120))
		c.Attrs.RewindSeconds = int64(g.r.IntN(2) * 60)
		c.Attrs.MaxMsgHeapNum = int64(5 + g.r.IntN(40))
		if c.Queue != "dlq" && g.r.IntN(2) == 0 {
			c.Attrs.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: int64(1 + g.r.IntN(3))}
		}
	case k < 4:
		c.Type = CmdDeleteQueue
	case k < 6:
		c.Type = CmdSetQueueAttributes
		v := int64(g.r.IntN(2) * 30)
		c.Update.RewindSeconds = &v
	case k < 35:
		c.Type = CmdSend
		for i := g.r.IntN(4); i >= 0; i-- {
			c.Bodies = append(c.Bodies, fmt.Appendf(nil, "m%d", g.r.Uint32()))
		}
		if g.r.IntN(4) == 0 {
			c.DelaySeconds = int64(g.r.IntN(5))
		}
	case k < 60:
		c.Type = CmdReceive
		c.MaxMessages = 1 + g.r.IntN(4)
	case k < 80:
		c.Type = CmdDelete
		for i := g.r.IntN(3); i >= 0 && len(g.handles) > 0; i-- {
			c.Handles = append(c.Handles, g.handles[g.r.IntN(len(g.handles))])
		}
		if len(c.Handles) == 0 {
			c.Handles = []string{"junk"}
		}
	case k < 85:
		c.Type = CmdChangeVisibility
		c.Handles = []string{"junk"}
		if len(g.handles) > 0 {
			c.Handles[0] = g.handles[g.r.IntN(len(g.handles))]
		}
		c.VisibilitySeconds = int64(g.r.IntN(4))
	case k < 88:
		c.Type = CmdRewind
		c.StartConsumeTime = g.now/1000 - int64(g.r.IntN(90))
	case k < 89:
		c.Type = CmdUnbindDeadLetter
	case k < 90:
		c.Type = CmdCreateTopic
		c.Topic = "t"
		c.TopicAttrs = DefaultTopicAttributes()
	case k < 91:
		c.Type = CmdSubscribe
		c.Topic = "t"
		c.Subscription = SubscriptionConfig{Name: "s-" + c.Queue, Protocol: ProtocolQueue, Endpoint: c.Queue}
		if g.r.IntN(2) == 0 {
			c.Subscription.FilterTags = []string{"red"}
		}
	case k < 92:
		c.Type = CmdUnsubscribe
		c.Topic = "t"
		c.Subscription.Name = "s-" + c.Queue
	case k < 96:
		c.Type = CmdPublish
		c.Topic = "t"
		c.Bodies = [][]byte{fmt.Appendf(nil, "p%d", g.r.Uint32())}
		if g.r.IntN(2) == 0 {
			c.Tags = []string{"red"}
		}
	default:
		c.Type = CmdTick
	}
	return c
}

func (g *commandGen) observe(r result) {
	for _, m := range r.messages {
		g.handles = append(g.handles, receiptHandle{queueID: r.queueID, seq: m.seq, lease: m.lease}.encode())
	}
	if len(g.handles) > 64 {
		g.handles = g.handles[len(g.handles)-64:]
	}
}

// TestDeterministicReplicas applies one random command log to two state machines, one of
// which also goes through its encoded form (as a replica reading the log would), and checks
// that every result and the final state agree. A third state machine is restored from a
// checkpoint of the first halfway through and must end in the same state too.
func TestDeterministicReplicas(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			limits := Limits{MinMaxMsgHeapNum: 1}.withDefaults()
			newSM := func() *stateMachine {
				return newStateMachine(limits, &store{fs: vfs.NewMem(), dir: "/d", segmentBytes: 4096})
			}
			a, b := newSM(), newSM()
			var c3 *stateMachine
			g := &commandGen{r: rand.New(rand.NewPCG(seed, 7)), now: 1_700_000_000_000}
			const n = 1500
			for i := uint64(1); i <= n; i++ {
				cmd := g.next()
				decoded, err := DecodeCommand(cmd.AppendEncode(nil))
				if err != nil {
					t.Fatalf("command %d: %v", i, err)
				}
				ra := a.apply(i, cmd, true)
				rb := b.apply(i, decoded, true)
				if !reflect.DeepEqual(ra, rb) {
					t.Fatalf("command %d (%v): results differ:\n%+v\n%+v", i, cmd.Type, ra, rb)
				}
				if a.err != nil {
					t.Fatalf("command %d: storage error %v", i, a.err)
				}
				if c3 != nil {
					c3.apply(i, decoded, false)
				}
				g.observe(ra)
				if i == n/2 {
					// Restore a third replica from a checkpoint: queue logs are copied by
					// replaying them from the first machine's disk.
					c3 = restoreCopy(t, a, limits)
				}
				a.woken, b.woken = nil, nil
			}
			da, db, dc := a.digest(t), b.digest(t), c3.digest(t)
			if sa, sc := string(a.encodeState(nil)), string(c3.encodeState(nil)); sa != sc {
				for id, q := range a.queues {
					if qa, qc := string(q.appendState(nil)), string(c3.queues[id].appendState(nil)); qa != qc {
						t.Errorf("queue %d differs:\n%+v\n%+v", id, *q, *c3.queues[id])
					}
				}
			}
			if da != db || da != dc {
				t.Fatalf("state digests differ: %x %x %x", da, db, dc)
			}
		})
	}
}

// restoreCopy builds a replica of sm from its checkpoint encoding and a copy of its queue
// logs, as a snapshot install would.
func restoreCopy(t *testing.T, sm *stateMachine, limits Limits) *stateMachine {
	t.Helper()
	st := &store{fs: vfs.NewMem(), dir: "/d", segmentBytes: 4096}
	c, err := decodeState(sm.encodeState(nil), limits, st)
	if err != nil {
		t.Fatalf("decodeState: %v", err)
	}
	for id, q := range sm.queues {
		l, err := segment.Open(st.queueDir(id), segment.Options{FS: st.fs, MaxSegmentBytes: st.segmentBytes})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Reset(q.first); err != nil {
			t.Fatal(err)
		}
		c.queues[id].log = l
		for seq := q.first; seq < q.tail; seq++ {
			if err := sm.openLog(q); err != nil {
				t.Fatal(err)
			}
			_, data, err := q.log.Read(seq, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(recMessage, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}
