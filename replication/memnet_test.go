package replication

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// memNetwork connects in-process nodes with controllable links: a link can be cut one way
// (from cannot reach to), and a node isolated from everyone.
type memNetwork struct {
	mu    sync.Mutex
	nodes map[uint64]*memTransport
	cut   map[[2]uint64]bool
	// damageSnapshots is how many of the next snapshot streams get a bit flipped on the
	// way (a network or memory fault that the receiver must catch).
	damageSnapshots atomic.Int32
}

func newMemNetwork() *memNetwork {
	return &memNetwork{nodes: map[uint64]*memTransport{}, cut: map[[2]uint64]bool{}}
}

func (nw *memNetwork) transport(id uint64) *memTransport {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	t := &memTransport{nw: nw, id: id, inbox: make(chan *raftpb.Message, 8192), stop: make(chan struct{})}
	nw.nodes[id] = t
	return t
}

// isolate cuts every link to and from id; heal restores all links.
func (nw *memNetwork) isolate(id uint64) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for other := range nw.nodes {
		if other != id {
			nw.cut[[2]uint64{id, other}] = true
			nw.cut[[2]uint64{other, id}] = true
		}
	}
}

func (nw *memNetwork) cutOneWay(from, to uint64) {
	nw.mu.Lock()
	nw.cut[[2]uint64{from, to}] = true
	nw.mu.Unlock()
}

func (nw *memNetwork) heal() {
	nw.mu.Lock()
	nw.cut = map[[2]uint64]bool{}
	nw.mu.Unlock()
}

func (nw *memNetwork) route(from, to uint64) *memTransport {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.cut[[2]uint64{from, to}] {
		return nil
	}
	dst := nw.nodes[to]
	if dst == nil || dst.stopped() {
		return nil
	}
	return dst
}

type memTransport struct {
	nw    *memNetwork
	id    uint64
	node  *Node
	inbox chan *raftpb.Message
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

func (t *memTransport) stopped() bool {
	select {
	case <-t.stop:
		return true
	default:
		return false
	}
}

func (t *memTransport) Start(n *Node) {
	t.node = n
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case m := <-t.inbox:
				n.receive(m)
			case <-t.stop:
				return
			}
		}
	}()
}

func (t *memTransport) AddPeer(uint64, string) {}
func (t *memTransport) RemovePeer(uint64)      {}

// clone copies a message the way a real network would (the sender may reuse it).
func clone(m *raftpb.Message) *raftpb.Message { return proto.Clone(m).(*raftpb.Message) }

func (t *memTransport) Send(m *raftpb.Message) {
	dst := t.nw.route(t.id, m.GetTo())
	if dst == nil {
		t.node.reportUnreachable(m.GetTo())
		return
	}
	select {
	case dst.inbox <- clone(m):
	default:
		t.node.reportUnreachable(m.GetTo())
	}
}

func (t *memTransport) SendSnapshot(m *raftpb.Message, write func(io.Writer) error) error {
	dst := t.nw.route(t.id, m.GetTo())
	if dst == nil {
		return fmt.Errorf("unreachable")
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if t.nw.damageSnapshots.Add(-1) >= 0 {
		buf.Bytes()[buf.Len()/2] ^= 0x08
	}
	return dst.node.receiveSnapshot(clone(m), &buf)
}

func (t *memTransport) Stop() {
	t.once.Do(func() { close(t.stop) })
	t.wg.Wait()
}
