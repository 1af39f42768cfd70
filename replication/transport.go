package replication

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/opencmq/opencmq/internal/readn"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Transport carries raft messages between nodes.
type Transport interface {
	// Start begins delivering inbound messages to n.
	Start(n *Node)
	// AddPeer and RemovePeer keep the set of peers messages can go to.
	AddPeer(id uint64, addr string)
	RemovePeer(id uint64)
	// Send queues a message; it never blocks. A message that cannot be delivered is
	// dropped (raft retransmits) and the peer is reported unreachable.
	Send(m *raftpb.Message)
	// SendSnapshot sends a MsgSnap followed by the stream write produces, and returns once
	// the receiver has stored it durably (or failed).
	SendSnapshot(m *raftpb.Message, write func(io.Writer) error) error
	Stop()
}

// TCPTransport sends raft messages over TCP with length-prefixed frames. Each node dials its
// peers for its own outgoing messages and only reads from connections peers dialled to it,
// so a one-way partition ("A cannot dial B") behaves as one. Snapshots use a connection of
// their own, so a large transfer does not hold up heartbeats. When the transport listens on a
// specific IP, it also dials from that IP (see dialSource), so peers and firewall rules see
// each node's connections coming from its own address, even for several nodes on one host.
//
// Frame format (part of the replication wire format):
//
//	message stream:  'M' | sender id uvarint | sender address (length uvarint + bytes), once;
//	                 then per message: length uvarint | protobuf raftpb.Message
//	                 (the sender's address lets a node that joined with no list of members
//	                 answer the leader before the log has told it where the leader is)
//	snapshot:        'S' | length uvarint | protobuf raftpb.Message | snapshot stream...;
//	                 the sender half-closes, the receiver answers one byte 'K' once stored
type TCPTransport struct {
	ln     net.Listener
	logger *slog.Logger
	node   *Node
	// localIP is the IP the listener is bound to; nil when it listens on every address.
	localIP net.IP

	mu      sync.Mutex
	peers   map[uint64]*peerSender
	inbound map[net.Conn]struct{}
	stopped bool
	wg      sync.WaitGroup
}

const (
	maxFrameBytes = 256 << 20
	sendQueueLen  = 8192
	dialTimeout   = time.Second
)

// NewTCPTransport listens on addr (host:port; port 0 picks one, see Addr).
func NewTCPTransport(addr string, logger *slog.Logger) (*TCPTransport, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	t := &TCPTransport{ln: ln, logger: logger, peers: map[uint64]*peerSender{}, inbound: map[net.Conn]struct{}{}}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		t.localIP = ta.IP
	}
	return t, nil
}

// dialSource is the local address to dial peerAddr from: the listener's IP, or nil (the
// kernel's choice) when the listener has no specific IP, or when that IP is a loopback one
// and the peer is not a loopback IP literal (a loopback source cannot reach other hosts).
// Without it, nodes sharing a host on 127.0.0.1, 127.0.0.2, … all dial from 127.0.0.1, and
// a partition between two of them cannot be expressed as a firewall rule.
func dialSource(localIP net.IP, peerAddr string) *net.TCPAddr {
	if localIP == nil {
		return nil
	}
	if localIP.IsLoopback() {
		host, _, err := net.SplitHostPort(peerAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil
		}
	}
	return &net.TCPAddr{IP: localIP}
}

// dial connects to a peer's raft address (from the listener's IP, see dialSource).
func (t *TCPTransport) dial(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, LocalAddr: dialSource(t.localIP, addr)}
	return d.Dial("tcp", addr)
}

// Addr is the address the transport listens on.
func (t *TCPTransport) Addr() string { return t.ln.Addr().String() }

// Start implements Transport.
func (t *TCPTransport) Start(n *Node) {
	t.node = n
	t.wg.Add(1)
	go t.accept()
}

func (t *TCPTransport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.inbound[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serve(c)
	}
}

func (t *TCPTransport) serve(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.inbound, c)
		t.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 256<<10)
	kind, err := r.ReadByte()
	if err != nil {
		return
	}
	switch kind {
	case 'M':
		id, err := binary.ReadUvarint(r)
		if err != nil {
			return
		}
		n, err := binary.ReadUvarint(r)
		if err != nil || n > 1024 {
			return
		}
		addr := make([]byte, n)
		if _, err := io.ReadFull(r, addr); err != nil {
			return
		}
		t.learnPeer(id, string(addr))
		for {
			m, err := readMessage(r)
			if err != nil {
				return
			}
			t.node.receive(m)
		}
	case 'S':
		m, err := readMessage(r)
		if err != nil || m.GetType() != raftpb.MsgSnap || m.GetSnapshot() == nil {
			return
		}
		if err := t.node.receiveSnapshot(m, r); err != nil {
			t.logger.Warn("replication: snapshot receive failed", "from", m.GetFrom(), "err", err)
			return
		}
		c.Write([]byte{'K'})
	}
}

func readMessage(r *bufio.Reader) (*raftpb.Message, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxFrameBytes {
		return nil, fmt.Errorf("replication: frame of %d bytes", n)
	}
	// The length is the peer's word: allocate as the bytes arrive, not as it claims.
	b, err := readn.Read(r, nil, int(n))
	if err != nil {
		return nil, err
	}
	m := &raftpb.Message{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendFrame(dst []byte, m *raftpb.Message) ([]byte, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return dst, err
	}
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...), nil
}

// learnPeer adds a peer that dialled in, if it is not known yet: its address came with its
// connection. Known peers keep the address the membership gave them.
func (t *TCPTransport) learnPeer(id uint64, addr string) {
	if id == 0 || addr == "" {
		return
	}
	t.mu.Lock()
	_, known := t.peers[id]
	t.mu.Unlock()
	if !known {
		t.AddPeer(id, addr)
	}
}

// AddPeer implements Transport.
func (t *TCPTransport) AddPeer(id uint64, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if p := t.peers[id]; p != nil {
		if p.addr == addr {
			return
		}
		p.close()
	}
	p := &peerSender{t: t, id: id, addr: addr, ch: make(chan *raftpb.Message, sendQueueLen), stop: make(chan struct{})}
	t.peers[id] = p
	t.wg.Add(1)
	go p.run()
}

// RemovePeer implements Transport.
func (t *TCPTransport) RemovePeer(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.peers[id]; p != nil {
		p.close()
		delete(t.peers, id)
	}
}

// Send implements Transport.
func (t *TCPTransport) Send(m *raftpb.Message) {
	t.mu.Lock()
	p := t.peers[m.GetTo()]
	t.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case p.ch <- m:
	default:
		t.node.reportUnreachable(m.GetTo())
	}
}

// SendSnapshot implements Transport.
func (t *TCPTransport) SendSnapshot(m *raftpb.Message, write func(io.Writer) error) error {
	t.mu.Lock()
	p := t.peers[m.GetTo()]
	t.mu.Unlock()
	if p == nil {
		return fmt.Errorf("replication: unknown peer %d", m.GetTo())
	}
	c, err := t.dial(p.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 256<<10)
	frame, err := appendFrame([]byte{'S'}, m)
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return err
	}
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	ack := make([]byte, 1)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 'K' {
		return errors.New("replication: snapshot not acknowledged")
	}
	return nil
}

// Stop implements Transport.
func (t *TCPTransport) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	t.ln.Close()
	for _, p := range t.peers {
		p.close()
	}
	for c := range t.inbound {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// peerSender owns the outgoing connection to one peer.
type peerSender struct {
	t    *TCPTransport
	id   uint64
	addr string
	ch   chan *raftpb.Message
	stop chan struct{}
	once sync.Once
}

func (p *peerSender) close() { p.once.Do(func() { close(p.stop) }) }

func (p *peerSender) run() {
	defer p.t.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		c, err := p.t.dial(p.addr)
		if err != nil {
			p.t.node.reportUnreachable(p.id)
			select {
			case <-time.After(backoff):
			case <-p.stop:
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		p.stream(c)
		c.Close()
	}
}

// stream writes queued messages to c until a write fails or the sender stops.
func (p *peerSender) stream(c net.Conn) {
	w := bufio.NewWriterSize(c, 256<<10)
	hello := binary.AppendUvarint([]byte{'M'}, p.t.node.cfg.ID)
	hello = appendString(hello, p.t.Addr())
	if _, err := w.Write(hello); err != nil {
		return
	}
	var buf []byte
	for {
		var m *raftpb.Message
		select {
		case m = <-p.ch:
		case <-p.stop:
			return
		}
		for m != nil {
			var err error
			if buf, err = appendFrame(buf[:0], m); err != nil {
				p.t.logger.Error("replication: marshal", "err", err)
			} else if _, err := w.Write(buf); err != nil {
				p.t.node.reportUnreachable(p.id)
				return
			}
			select {
			case m = <-p.ch:
			default:
				m = nil
			}
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := w.Flush(); err != nil {
			p.t.node.reportUnreachable(p.id)
			return
		}
	}
}
