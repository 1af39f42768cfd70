package main

import (
	"sync"

	"github.com/opencmq/opencmq/replication"
)

// startedTransport is a replication.TCPTransport with two fixes for how replication.Node
// uses it (cmqd may not change package replication):
//
//   - Peers are only connected once the node has been handed to the transport.
//     Node.Start used to call AddPeer for the known members before Transport.Start, and
//     TCPTransport.AddPeer starts a sender goroutine at once, which reports a failed dial to
//     the transport's node, still unset then (a data race, and a nil dereference if the dial
//     fails fast enough). AddPeer/RemovePeer are deferred until Start, in order. (Since
//     replication 734b633 Node.Start starts the transport first; the deferral is then a
//     no-op, kept so that cmqd does not depend on that order.)
//
//   - A joining node (--join) starts with no members, so it cannot answer the leader: the
//     TCP transport drops messages to peers it has no address for, and the addresses only
//     arrive with the log the leader is trying to send. seeds (the --peers of a joining
//     node) are added at Start for the ids the node has not added itself; an AddPeer from
//     the node afterwards (the address in the log) replaces a seed.
type startedTransport struct {
	*replication.TCPTransport
	self  uint64
	seeds []replication.Peer

	mu      sync.Mutex
	started bool
	pending []func()
	added   map[uint64]bool
}

var _ replication.Transport = (*startedTransport)(nil)

func newStartedTransport(t *replication.TCPTransport, self uint64, seeds []replication.Peer) *startedTransport {
	return &startedTransport{TCPTransport: t, self: self, seeds: seeds, added: map[uint64]bool{}}
}

// Start implements replication.Transport.
func (s *startedTransport) Start(n *replication.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.TCPTransport.Start(n)
	s.started = true
	for _, f := range s.pending {
		f()
	}
	s.pending = nil
	for _, p := range s.seeds {
		if p.ID != s.self && !s.added[p.ID] {
			s.TCPTransport.AddPeer(p.ID, p.Addr)
		}
	}
}

// AddPeer implements replication.Transport.
func (s *startedTransport) AddPeer(id uint64, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added[id] = true
	if !s.started {
		s.pending = append(s.pending, func() { s.TCPTransport.AddPeer(id, addr) })
		return
	}
	s.TCPTransport.AddPeer(id, addr)
}

// RemovePeer implements replication.Transport.
func (s *startedTransport) RemovePeer(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added[id] = true
	if !s.started {
		s.pending = append(s.pending, func() { s.TCPTransport.RemovePeer(id) })
		return
	}
	s.TCPTransport.RemovePeer(id)
}
