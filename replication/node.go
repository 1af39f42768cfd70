package replication

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/replication/raftlog"
	"github.com/opencmq/opencmq/segment/vfs"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Peer is a member of the raft group: its id and the address its raft transport listens on.
type Peer struct {
	ID   uint64 `json:"id"`
	Addr string `json:"addr"`
}

// Config configures a Node.
type Config struct {
	// ID of this node, > 0, never reused for another node.
	ID uint64
	// Dir holds the raft log and the membership file.
	Dir string
	// Peers is the initial membership (this node included) when a new cluster is created.
	// Ignored once the node has state on disk. A single peer makes a one-voter group: the
	// embedded single-node default uses the same code path as a cluster.
	Peers []Peer
	// Join starts a node that an existing cluster added with AddNode: it boots empty and
	// waits for the leader to send it the log or a snapshot.
	Join bool
	// Transport carries raft messages; required.
	Transport Transport
	// TickInterval is the raft tick; default 100 ms. ElectionTicks (default 10) and
	// HeartbeatTicks (default 1) are in ticks.
	TickInterval                  time.Duration
	ElectionTicks, HeartbeatTicks int
	// CatchUpEntries is how many entries are kept behind the last checkpoint so that a
	// slightly lagging follower catches up from the log rather than by snapshot; default 5000.
	CatchUpEntries uint64
	// NoSync skips fsyncs (tests only).
	NoSync bool
	Logger *slog.Logger
	// FS carries the node's own files (membership, incoming snapshots, the raft log's
	// state and commit hint files); default vfs.Default. It must name real files: the
	// raft log's segments are written by tidwall/wal through package os (see raftlog).
	FS vfs.FS
}

// Status is a node's view of the group.
type Status struct {
	ID uint64 `json:"id"`
	// Role is "leader", "follower", "candidate", or "failed" once a storage error stopped
	// the node (Error says which; it then knows no leader).
	Role    string `json:"role"`
	Term    uint64 `json:"term"`
	Leader  uint64 `json:"leader"`
	Commit  uint64 `json:"commit"`
	Applied uint64 `json:"applied"`
	Peers   []Peer `json:"peers"`
	Error   string `json:"error,omitempty"`
}

// Errors.
var (
	ErrStopped   = errors.New("replication: node stopped")
	ErrNoLeader  = errors.New("replication: no leader")
	ErrIDReused  = errors.New("replication: node id was used before")
	ErrNotMember = errors.New("replication: not a member")
)

// Node runs one member of a raft group and orders an engine's commands: it implements
// engine.Replicator. One goroutine owns the RawNode and runs the Ready loop in the order
// the raft README documents: persist entries and hard state (fsync only when MustSync),
// send messages, apply the snapshot and committed entries, Advance.
type Node struct {
	cfg     Config
	logger  *slog.Logger
	storage *raftlog.Storage
	rn      *raft.RawNode
	eng     *engine.Engine
	members *membership

	propc   chan proposal
	queued  []proposal // taken from propc, not yet proposed; only the loop uses it
	recvc   chan *raftpb.Message
	readc   chan *readRequest
	confc   chan confRequest
	compact chan uint64
	unreach chan uint64
	snapc   chan snapStatus
	stop    chan struct{}
	done    chan struct{}

	// Published by the loop for other goroutines.
	status   atomic.Pointer[Status]
	applied  atomic.Uint64
	failed   atomic.Pointer[error]
	failedCh chan struct{} // closed when failed is set: waiters give up at once

	appliedMu   sync.Mutex
	appliedCond *sync.Cond

	// durableTerm and durableVote are the term and vote on disk; only the loop uses them.
	durableTerm, durableVote uint64

	readSeq atomic.Uint64

	// beforeSync, when set (tests only), runs in the loop before every raft log fsync.
	beforeSync atomic.Pointer[func()]
	started    atomic.Bool // Start ran the loop: Stop waits for it
}

type proposal struct {
	data []byte
	errc chan error
}

type readRequest struct {
	rctx  []byte
	index uint64
	done  chan error
}

type confRequest struct {
	cc   *raftpb.ConfChange
	errc chan error
}

type snapStatus struct {
	to     uint64
	failed bool
}

// New opens the raft log in cfg.Dir. Start connects it to an engine.
func New(cfg Config) (*Node, error) {
	if cfg.ID == 0 {
		return nil, errors.New("replication: node id must be > 0")
	}
	if cfg.Transport == nil {
		return nil, errors.New("replication: a transport is required")
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = 10
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = 1
	}
	if cfg.CatchUpEntries == 0 {
		cfg.CatchUpEntries = 5000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FS == nil {
		cfg.FS = vfs.Default
	}
	if err := vfs.MkdirAllSync(cfg.FS, cfg.Dir, 0o750); err != nil {
		return nil, err
	}
	if err := removeIncomingSnapshots(cfg.FS, cfg.Dir); err != nil {
		return nil, err
	}
	st, err := raftlog.Open(filepath.Join(cfg.Dir, "raft"), raftlog.Options{NoSync: cfg.NoSync, Logger: cfg.Logger, FS: cfg.FS})
	if err != nil {
		return nil, err
	}
	members, err := loadMembership(cfg.FS, cfg.Dir)
	if err != nil {
		st.Close()
		return nil, err
	}
	n := &Node{
		cfg: cfg, logger: cfg.Logger.With("node", cfg.ID), storage: st, members: members,
		propc:   make(chan proposal, 4096),
		recvc:   make(chan *raftpb.Message, 4096),
		readc:   make(chan *readRequest, 1024),
		confc:   make(chan confRequest, 16),
		compact: make(chan uint64, 16),
		unreach: make(chan uint64, 256),
		snapc:   make(chan snapStatus, 16),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),

		failedCh: make(chan struct{}),
	}
	n.appliedCond = sync.NewCond(&n.appliedMu)
	n.status.Store(&Status{ID: cfg.ID, Role: "follower"})
	return n, nil
}

// Start connects the node to its engine (opened with this node as its Replicator) and
// starts the raft loop.
func (n *Node) Start(eng *engine.Engine) error {
	n.eng = eng
	hs, cs, err := n.storage.InitialState()
	if err != nil {
		return err
	}
	if err := checkEngineReachesLog(eng.AppliedIndex(), n.storage, n.cfg.Dir); err != nil {
		return err
	}
	rcfg := &raft.Config{
		ID:                        n.cfg.ID,
		ElectionTick:              n.cfg.ElectionTicks,
		HeartbeatTick:             n.cfg.HeartbeatTicks,
		Storage:                   snapshotStorage{n.storage},
		Applied:                   eng.AppliedIndex(),
		MaxSizePerMsg:             1 << 20,
		MaxCommittedSizePerReady:  8 << 20,
		MaxUncommittedEntriesSize: 256 << 20,
		MaxInflightMsgs:           256,
		CheckQuorum:               true,
		PreVote:                   true,
		StepDownOnRemoval:         true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		Logger:                    raftLogger{n.logger},
	}
	fresh := raft.IsEmptyHardState(hs) && len(cs.GetVoters()) == 0
	if last, _ := n.storage.LastIndex(); last > 0 {
		fresh = false
	}
	// raft refuses an applied index above the commit index it recovered (after a power loss
	// the durable Commit can lag what was applied). Entries between them are delivered
	// again, and the engine skips the ones it already applied.
	rcfg.Applied = min(rcfg.Applied, hs.GetCommit())
	rn, err := raft.NewRawNode(rcfg)
	if err != nil {
		return err
	}
	n.rn = rn
	n.durableTerm, n.durableVote = hs.GetTerm(), hs.GetVote()
	if fresh && !n.cfg.Join {
		peers := make([]raft.Peer, len(n.cfg.Peers))
		for i, p := range n.cfg.Peers {
			ctx, _ := json.Marshal(p)
			peers[i] = raft.Peer{ID: p.ID, Context: ctx}
			n.members.set(p)
		}
		if err := rn.Bootstrap(peers); err != nil {
			return err
		}
	}
	// The transport needs its node before any peer sender can report back to it.
	n.cfg.Transport.Start(n)
	for _, p := range n.members.list() {
		if p.ID != n.cfg.ID {
			n.cfg.Transport.AddPeer(p.ID, p.Addr)
		}
	}
	n.applied.Store(rcfg.Applied)
	n.started.Store(true)
	go n.run()
	return nil
}

// checkEngineReachesLog refuses an engine whose state ends before the raft log's
// compaction point: the entries in between are gone, so it could never catch up here and
// would serve a state missing committed commands. Compaction follows durable engine
// checkpoints, so this means the engine data was lost or restored from an older copy.
func checkEngineReachesLog(applied uint64, st *raftlog.Storage, dir string) error {
	first, err := st.FirstIndex()
	if err != nil {
		return err
	}
	if applied+1 < first {
		return fmt.Errorf("replication: the engine's state ends at index %d but the raft log in %s starts after %d "+
			"(older entries are compacted): the engine data is older than the raft log (lost, or restored from an old copy); "+
			"this node cannot serve from it: move its data directory aside and add it again as a new node (docs/cluster.md)",
			applied, filepath.Join(dir, "raft"), first-1)
	}
	return nil
}

// Stop stops the raft loop and closes the raft log. The engine must be closed after it.
func (n *Node) Stop() error {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	if n.started.Load() {
		<-n.done
	}
	n.cfg.Transport.Stop()
	n.appliedMu.Lock()
	n.appliedCond.Broadcast()
	n.appliedMu.Unlock()
	return n.storage.Close()
}

// Err returns the storage error (raft log, engine or snapshot install) that stopped the
// node, or nil while it runs normally. A stopped node neither votes nor leads nor applies.
func (n *Node) Err() error { return n.fatal() }

// fatal is the error that stopped the node: its own, or its engine's (an engine latches
// a storage failure before it answers the caller that hit it, and the loop records it on
// the node only once Apply has returned; between the two the node is already failed).
func (n *Node) fatal() error {
	if p := n.failed.Load(); p != nil {
		return *p
	}
	if n.eng != nil { // set by Start, before the loop or any caller can see the node working
		if err := n.eng.Err(); err != nil {
			return fmt.Errorf("replication: engine failed: %w", err)
		}
	}
	return nil
}

// fail stops the node for good after a storage error: it must not vote or lead on a log it
// can no longer trust. Callers waiting on it (proposals, read barriers, membership changes)
// get the error at once, and the engine stops too: nothing more is applied here.
func (n *Node) fail(err error) {
	if n.failed.CompareAndSwap(nil, &err) {
		n.logger.Error("replication: storage failure; node stops serving", "err", err)
		close(n.failedCh)
		if n.eng != nil {
			n.eng.Fail(fmt.Errorf("replication: %w", err))
		}
	}
}

func (n *Node) run() {
	defer close(n.done)
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	var reads []*readRequest
	for {
		select {
		case <-ticker.C:
			n.rn.Tick()
		case p := <-n.propc:
			n.queued = append(n.queued, p)
			n.drainInbound(&reads)
		case m := <-n.recvc:
			n.rn.Step(m)
			n.drainInbound(&reads)
		case r := <-n.readc:
			n.readIndex(r, &reads)
			n.drainInbound(&reads)
		case c := <-n.confc:
			c.errc <- n.rn.ProposeConfChange(c.cc)
		case idx := <-n.compact:
			n.compactLog(idx)
		case id := <-n.unreach:
			n.rn.ReportUnreachable(id)
		case s := <-n.snapc:
			st := raft.SnapshotFinish
			if s.failed {
				st = raft.SnapshotFailure
			}
			n.rn.ReportSnapshot(s.to, st)
		case <-n.stop:
			for _, r := range reads {
				r.done <- ErrStopped
			}
			return
		}
		for n.rn.HasReady() && n.fatal() == nil {
			if err := n.handleReady(n.rn.Ready(), &reads); err != nil {
				n.fail(err)
			}
		}
		if err := n.fatal(); err != nil {
			n.fail(err) // records an engine failure on the node too (no-op if already failed)
			for _, r := range reads {
				r.done <- n.fatal()
			}
			<-n.stop
			return
		}
		n.publishStatus()
	}
}

// maxDrain bounds how many queued inputs one Ready gathers, so that ticks and the other
// channels are not starved under a flood of proposals.
const maxDrain = 4096

// drainInbound steps everything already queued on the proposal, message and read channels
// into the RawNode (proposals joined, see proposeQueued), without blocking, before the loop
// takes the next Ready. Then one Ready,
// and so one fsync, covers every proposal and every MsgApp that arrived meanwhile: stepping
// one input per Ready made a follower fsync once per leader MsgApp (one entry each under
// single-message load), which bounded a cluster to a few thousand entries per second.
func (n *Node) drainInbound(reads *[]*readRequest) {
	defer n.proposeQueued()
	for range maxDrain {
		select {
		case p := <-n.propc:
			n.queued = append(n.queued, p)
		case m := <-n.recvc:
			n.rn.Step(m)
		case r := <-n.readc:
			n.readIndex(r, reads)
		default:
			return
		}
	}
}

func (n *Node) readIndex(r *readRequest, reads *[]*readRequest) {
	*reads = append(*reads, r)
	n.rn.ReadIndex(r.rctx)
}

// maxJoinedBytes bounds the entry JoinProposals makes of queued proposals (raft sends an
// entry whole, whatever MaxSizePerMsg says).
const maxJoinedBytes = 512 << 10

// proposeQueued proposes the queued proposals, joined into as few entries as
// maxJoinedBytes allows (engine.JoinProposals): replication's per-entry costs are then
// paid once per group of concurrent requests instead of once per request. Each caller
// learns its entry's outcome.
func (n *Node) proposeQueued() {
	q := n.queued
	for len(q) > 0 {
		k, size := 1, len(q[0].data)
		for k < len(q) && size+len(q[k].data) <= maxJoinedBytes {
			size += len(q[k].data)
			k++
		}
		var err error
		if k == 1 {
			err = n.rn.Propose(q[0].data)
		} else {
			datas := make([][]byte, k)
			for i := range k {
				datas[i] = q[i].data
			}
			err = n.rn.Propose(engine.JoinProposals(datas))
		}
		for i := range k {
			q[i].errc <- err
			q[i] = proposal{}
		}
		q = q[k:]
	}
	n.queued = n.queued[:0]
}

// handleReady processes one Ready: persist (entries and hard state, fsync when MustSync),
// send, apply, Advance — the raft README's steps, with two overlaps it allows (see below)
// when the Ready carries no snapshot.
func (n *Node) handleReady(rd raft.Ready, reads *[]*readRequest) error {
	if err := failpoint.Inject(failpoint.RaftBeforeSave); err != nil {
		return err
	}
	overlap := raft.IsEmptySnap(rd.Snapshot)
	if !overlap {
		if err := n.persistSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	// Messages that promise nothing about this node's disk go out before its fsync. A
	// leader's MsgApp and heartbeats, so that its disk and its followers' disks work in
	// parallel (raft thesis 10.2.1; the raft README allows sending while "entries from the
	// same batch are being persisted"): safe because the leader counts its own copy only at
	// Advance, after the fsync below, and a follower's ack is stepped only after this Ready
	// is handled, so a commit always includes the leader's durable copy. A follower's
	// forwarded proposals and read requests, so that they reach the leader one fsync
	// sooner. What waits for the fsync is what raft itself holds back until the append is
	// stable (see promisesDurability), and everything when the term or vote changed.
	later := rd.Messages
	if overlap && n.voteDurable(rd.HardState) {
		later = n.sendEarly(rd.Messages)
	}
	// Committed entries are durable on a majority and in this node's stable log already
	// (without AsyncStorageWrites raft hands out only entries persisted by an earlier
	// Ready), and do not depend on this Ready's new entries: applying them before this
	// Ready's fsync answers their callers one fsync sooner.
	if overlap {
		if err := n.applyEntries(rd.CommittedEntries); err != nil {
			return err
		}
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		return err
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	if rd.MustSync {
		if hook := n.beforeSync.Load(); hook != nil {
			(*hook)()
		}
		if err := n.storage.Sync(); err != nil {
			return err
		}
	}
	if err := failpoint.Inject(failpoint.RaftAfterSave); err != nil {
		return err
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.durableTerm, n.durableVote = rd.HardState.GetTerm(), rd.HardState.GetVote()
	}
	// Send the rest, now that what the messages promise is durable.
	n.send(later)
	if !overlap {
		if err := n.applyEntries(rd.CommittedEntries); err != nil {
			return err
		}
		n.setApplied(rd.Snapshot.GetMetadata().GetIndex())
	}
	for _, rs := range rd.ReadStates {
		for _, r := range *reads {
			if string(r.rctx) == string(rs.RequestCtx) {
				r.index = rs.Index
			}
		}
	}
	n.releaseReads(reads)
	n.rn.Advance(rd)
	return nil
}

// persistSnapshot installs a snapshot the leader sent: the membership it carries, then the
// engine state, then the raft log's metadata (so the log forgets what precedes the
// snapshot only once the engine state covering it is installed).
func (n *Node) persistSnapshot(snap *raftpb.Snapshot) error {
	var info snapshotData
	if err := json.Unmarshal(snap.GetData(), &info); err != nil {
		return fmt.Errorf("snapshot data: %w", err)
	}
	for _, p := range info.Peers {
		n.members.set(p)
		if p.ID != n.cfg.ID {
			n.cfg.Transport.AddPeer(p.ID, p.Addr)
		}
	}
	if err := n.members.save(n.cfg.Dir); err != nil {
		return err
	}
	if err := n.installSnapshot(info.File); err != nil {
		return err
	}
	return n.storage.ApplySnapshot(snap)
}

// voteDurable reports whether hs (from a Ready) changes neither term nor vote from what is
// on disk, so messages may leave before it is persisted.
func (n *Node) voteDurable(hs *raftpb.HardState) bool {
	return raft.IsEmptyHardState(hs) || hs.GetTerm() == n.durableTerm && hs.GetVote() == n.durableVote
}

// sendEarly sends the messages that do not promise durability and returns the others (in
// their order; msgs is reused).
func (n *Node) sendEarly(msgs []*raftpb.Message) []*raftpb.Message {
	rest := msgs[:0]
	for _, m := range msgs {
		if promisesDurability(m) {
			rest = append(rest, m)
			continue
		}
		n.sendOne(m)
	}
	return rest
}

// promisesDurability reports whether m tells its recipient that this node has stored
// something: an append's acknowledgement (entries durable) or a vote (HardState durable).
// These are the messages raft itself delays until the append is stable when it persists
// asynchronously (raft.send's msgsAfterAppend).
func promisesDurability(m *raftpb.Message) bool {
	switch m.GetType() {
	case raftpb.MsgAppResp, raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
		return true
	}
	return false
}

func (n *Node) send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		n.sendOne(m)
	}
}

func (n *Node) sendOne(m *raftpb.Message) {
	if m.GetType() == raftpb.MsgSnap {
		n.sendSnapshot(m)
		return
	}
	n.cfg.Transport.Send(m)
}

func (n *Node) applyEntries(ents []*raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	batch := make([]engine.Entry, 0, len(ents))
	for _, e := range ents {
		switch e.GetType() {
		case raftpb.EntryNormal:
			var data []byte
			if len(e.GetData()) > 0 {
				data = e.GetData()
			}
			batch = append(batch, engine.Entry{Index: e.GetIndex(), Data: data})
		case raftpb.EntryConfChange:
			if err := n.eng.Apply(batch); err != nil {
				return err
			}
			batch = batch[:0]
			var cc raftpb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("conf change at %d: %w", e.GetIndex(), err)
			}
			if err := n.applyConfChange(&cc); err != nil {
				return err
			}
			batch = append(batch, engine.Entry{Index: e.GetIndex()})
		default:
			batch = append(batch, engine.Entry{Index: e.GetIndex()})
		}
	}
	if err := n.eng.Apply(batch); err != nil {
		return err
	}
	if len(ents) > 0 {
		n.setApplied(ents[len(ents)-1].GetIndex())
	}
	return nil
}

func (n *Node) applyConfChange(cc *raftpb.ConfChange) error {
	var p Peer
	if len(cc.GetContext()) > 0 {
		if err := json.Unmarshal(cc.GetContext(), &p); err != nil {
			return fmt.Errorf("conf change context: %w", err)
		}
	}
	switch cc.GetType() {
	case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
		if n.members.wasRemoved(cc.GetNodeId()) {
			// Ids are never reused: refuse deterministically on every replica.
			cc.NodeId = proto.Uint64(0)
			break
		}
		p.ID = cc.GetNodeId()
		n.members.set(p)
		if p.ID != n.cfg.ID {
			n.cfg.Transport.AddPeer(p.ID, p.Addr)
		}
	case raftpb.ConfChangeRemoveNode:
		n.members.remove(cc.GetNodeId())
		if cc.GetNodeId() != n.cfg.ID {
			n.cfg.Transport.RemovePeer(cc.GetNodeId())
		}
	}
	cs := n.rn.ApplyConfChange(cc)
	if err := n.storage.SetConfState(cs); err != nil {
		return err
	}
	return n.members.save(n.cfg.Dir)
}

func (n *Node) setApplied(idx uint64) {
	n.appliedMu.Lock()
	if idx > n.applied.Load() {
		n.applied.Store(idx)
	}
	n.appliedCond.Broadcast()
	n.appliedMu.Unlock()
}

// releaseReads answers the read barriers whose read index has been applied.
func (n *Node) releaseReads(reads *[]*readRequest) {
	kept := (*reads)[:0]
	applied := n.applied.Load()
	for _, r := range *reads {
		if r.index != 0 && r.index <= applied {
			r.done <- nil
			continue
		}
		kept = append(kept, r)
	}
	*reads = kept
}

func (n *Node) compactLog(checkpointed uint64) {
	if checkpointed <= n.cfg.CatchUpEntries {
		return
	}
	to := checkpointed - n.cfg.CatchUpEntries
	if first, _ := n.storage.FirstIndex(); to <= first {
		return
	}
	if err := n.storage.Compact(to); err != nil && !errors.Is(err, raft.ErrCompacted) {
		n.fail(fmt.Errorf("compact to %d: %w", to, err))
	}
}

func (n *Node) publishStatus() {
	st := n.rn.BasicStatus()
	role := "follower"
	switch st.RaftState {
	case raft.StateLeader:
		role = "leader"
	case raft.StateCandidate, raft.StatePreCandidate:
		role = "candidate"
	}
	n.status.Store(&Status{
		ID: n.cfg.ID, Role: role, Term: st.HardState.GetTerm(), Leader: st.Lead,
		Commit: st.HardState.GetCommit(), Applied: n.applied.Load(), Peers: n.members.list(),
	})
}

// Status returns the node's view of the group.
func (n *Node) Status() Status {
	s := *n.status.Load()
	s.Applied = n.applied.Load()
	if err := n.fatal(); err != nil {
		s.Role, s.Leader, s.Error = "failed", 0, err.Error()
	}
	return s
}

// Ready reports whether the node can serve: it is a member, knows a leader and has applied
// everything that was committed when it last looked.
func (n *Node) Ready() bool {
	s := n.Status()
	// A node that joined and has not yet received the log is not a member in its own eyes.
	return n.fatal() == nil && s.Leader != 0 && s.Applied >= s.Commit && n.members.has(n.cfg.ID)
}

// --- engine.Replicator ---

// Propose submits data to the group. Proposals made while no leader is known are retried
// until ctx ends; raft forwards a follower's proposals to the leader.
func (n *Node) Propose(ctx context.Context, data []byte) error {
	for {
		if err := n.fatal(); err != nil {
			return err
		}
		errc := make(chan error, 1)
		select {
		case n.propc <- proposal{data: data, errc: errc}:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stop:
			return ErrStopped
		case <-n.failedCh:
			return n.fatal()
		}
		var err error
		select {
		case err = <-errc:
		case <-n.stop:
			return ErrStopped
		case <-n.failedCh:
			return n.fatal()
		}
		if !errors.Is(err, raft.ErrProposalDropped) {
			return err
		}
		select {
		case <-time.After(n.cfg.TickInterval):
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stop:
			return ErrStopped
		}
	}
}

// ReadBarrier implements linearizable reads with raft's ReadIndex (ReadOnlySafe: the leader
// confirms its leadership with a quorum of heartbeats), then waits until this node has
// applied up to the returned index.
func (n *Node) ReadBarrier(ctx context.Context) error {
	for {
		rctx := binary.BigEndian.AppendUint64(nil, n.readSeq.Add(1))
		r := &readRequest{rctx: rctx, done: make(chan error, 1)}
		select {
		case n.readc <- r:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stop:
			return ErrStopped
		case <-n.failedCh:
			return n.fatal()
		}
		// A read index request is dropped silently when there is no leader; ask again
		// every election timeout until ctx ends.
		retry := time.NewTimer(n.cfg.TickInterval * time.Duration(n.cfg.ElectionTicks))
		select {
		case err := <-r.done:
			retry.Stop()
			return err
		case <-retry.C:
		case <-ctx.Done():
			retry.Stop()
			return ctx.Err()
		case <-n.stop:
			retry.Stop()
			return ErrStopped
		case <-n.failedCh:
			retry.Stop()
			return n.fatal()
		}
	}
}

// IsLeader reports whether this node leads the group.
func (n *Node) IsLeader() bool { return n.Status().Role == "leader" }

// Checkpointed lets the node compact its raft log behind the engine's durable checkpoint.
func (n *Node) Checkpointed(index uint64) {
	select {
	case n.compact <- index:
	default:
	}
}

// --- membership changes ---

// AddNode adds a voter with the given id and raft address. Ids are never reused.
func (n *Node) AddNode(ctx context.Context, p Peer) error {
	if n.members.wasRemoved(p.ID) {
		return ErrIDReused
	}
	cctx, _ := json.Marshal(p)
	return n.changeConf(ctx, &raftpb.ConfChange{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: proto.Uint64(p.ID), Context: cctx},
		func() bool { return n.members.has(p.ID) })
}

// RemoveNode removes a member; its id is never used again.
func (n *Node) RemoveNode(ctx context.Context, id uint64) error {
	if !n.members.has(id) {
		return ErrNotMember
	}
	return n.changeConf(ctx, &raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(id)},
		func() bool { return !n.members.has(id) })
}

// changeConf proposes one configuration change and waits until it is applied here. raft
// refuses a second change while one is pending, so changes go one at a time.
func (n *Node) changeConf(ctx context.Context, cc *raftpb.ConfChange, applied func() bool) error {
	errc := make(chan error, 1)
	select {
	case n.confc <- confRequest{cc: cc, errc: errc}:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.failedCh:
		return n.fatal()
	}
	select {
	case err := <-errc:
		if err != nil {
			return err
		}
	case <-n.failedCh:
		return n.fatal()
	}
	for !applied() {
		select {
		case <-time.After(n.cfg.TickInterval):
		case <-ctx.Done():
			return fmt.Errorf("%w: configuration change not applied yet", ctx.Err())
		case <-n.failedCh:
			return n.fatal()
		}
	}
	return nil
}

// receive hands an inbound raft message to the loop (called by the transport).
func (n *Node) receive(m *raftpb.Message) {
	select {
	case n.recvc <- m:
	case <-n.stop:
	}
}

// reportUnreachable tells raft a peer could not be reached (called by the transport).
func (n *Node) reportUnreachable(id uint64) {
	select {
	case n.unreach <- id:
	default:
	}
}

type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)                 {}
func (r raftLogger) Debugf(format string, v ...any) {}
func (r raftLogger) Error(v ...any)                 { r.l.Error(fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)) }
func (r raftLogger) Info(v ...any)                  { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Infof(format string, v ...any)  { r.l.Debug(fmt.Sprintf(format, v...)) }
func (r raftLogger) Warning(v ...any)               { r.l.Warn(fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.l.Warn(fmt.Sprintf(format, v...))
}
func (r raftLogger) Fatal(v ...any)                 { r.l.Error(fmt.Sprint(v...)); os.Exit(1) }
func (r raftLogger) Fatalf(format string, v ...any) { r.l.Error(fmt.Sprintf(format, v...)); os.Exit(1) }
func (r raftLogger) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
