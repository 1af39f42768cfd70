package replication

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/replication/raftlog"
	"github.com/opencmq/opencmq/segment/vfs"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// snapshotData is what travels in a raft snapshot's Data field. raft's snapshot metadata
// (index, term, voters) comes from the raft log; the engine state and messages are streamed
// beside the MsgSnap by the transport into File on the receiver, and Peers carries the
// members' addresses, which a node catching up by snapshot never saw in the log.
//
// The engine state may be newer than the metadata index: it is taken when the snapshot is
// sent. That is safe because the engine skips entries it has already applied.
type snapshotData struct {
	Peers []Peer `json:"peers"`
	File  string `json:"file,omitempty"`
}

const incomingDir = "snapshots"

// snapshotStorage is the raft log with raft.Storage's Snapshot provided by the node: raft
// asks for a snapshot when a follower needs entries that compaction removed. Its metadata
// is the compaction point (index FirstIndex-1, the term there) with the current voters;
// the engine's state goes beside the MsgSnap when it is sent (sendSnapshot).
type snapshotStorage struct {
	*raftlog.Storage
}

func (s snapshotStorage) Snapshot() (*raftpb.Snapshot, error) {
	first, err := s.FirstIndex()
	if err != nil {
		return nil, err
	}
	index := first - 1
	term, err := s.Term(index)
	if err != nil {
		return nil, err
	}
	_, cs, err := s.InitialState()
	if err != nil {
		return nil, err
	}
	return &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: proto.Uint64(index), Term: proto.Uint64(term), ConfState: cs,
	}}, nil
}

// sendSnapshot sends a MsgSnap with the engine's state streamed beside it, in the
// background; raft hears how it went through ReportSnapshot.
func (n *Node) sendSnapshot(m *raftpb.Message) {
	data, _ := json.Marshal(snapshotData{Peers: n.members.list()})
	snap := m.GetSnapshot()
	snap.Data = data
	go func() {
		err := n.cfg.Transport.SendSnapshot(m, func(w io.Writer) error {
			_, err := n.eng.WriteSnapshot(w)
			return err
		})
		if err != nil {
			n.logger.Warn("replication: snapshot send failed", "to", m.GetTo(), "err", err)
		}
		select {
		case n.snapc <- snapStatus{to: m.GetTo(), failed: err != nil}:
		case <-n.stop:
		}
	}()
}

// receiveSnapshot stores an incoming snapshot stream, then hands the MsgSnap to raft; if
// raft accepts it, handleReady installs the file.
//
// The file need not survive a crash: the install copies it into the engine's durable
// staging directory before raft records the snapshot, so after a crash before that raft
// has not seen it and the leader sends it again. Leftovers are removed at start (New).
func (n *Node) receiveSnapshot(m *raftpb.Message, stream io.Reader) error {
	fsys := n.cfg.FS
	dir := filepath.Join(n.cfg.Dir, incomingDir)
	if err := fsys.MkdirAll(dir); err != nil {
		return err
	}
	meta := m.GetSnapshot().GetMetadata()
	name := filepath.Join(dir, fmt.Sprintf("%016x-%016x.snap", meta.GetTerm(), meta.GetIndex()))
	if err := fsys.Remove(name); err != nil && !vfs.IsNotExist(err) {
		return err
	}
	f, err := fsys.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, stream); err != nil {
		f.Close()
		fsys.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := readSnapshotFile(fsys, name, engine.VerifySnapshot); err != nil {
		fsys.Remove(name)
		return fmt.Errorf("replication: snapshot stream from node %d refused: %w", m.GetFrom(), err)
	}
	if err := failpoint.InjectAt(failpoint.SnapshotReceived, name); err != nil {
		return err
	}
	var info snapshotData
	if err := json.Unmarshal(m.GetSnapshot().GetData(), &info); err != nil {
		return err
	}
	info.File = name
	m.GetSnapshot().Data, _ = json.Marshal(info)
	n.receive(m)
	return nil
}

// installSnapshot replaces the engine's state with a received stream. A stream that fails
// its checks is refused (the error names the file) and nothing is replaced; the node then
// stops, as after any storage error, rather than serve from a state it could not install.
func (n *Node) installSnapshot(file string) error {
	if file == "" {
		return fmt.Errorf("replication: snapshot without engine data")
	}
	var idx uint64
	err := readSnapshotFile(n.cfg.FS, file, func(r io.Reader) (err error) {
		idx, err = n.eng.RestoreSnapshot(r)
		return err
	})
	if err != nil {
		return fmt.Errorf("replication: install snapshot %s: %w", file, err)
	}
	n.logger.Info("replication: installed snapshot", "engine_index", idx)
	n.cfg.FS.Remove(file) // a leftover is removed at the next start
	return nil
}

// readSnapshotFile hands the content of a stored snapshot stream to read.
func readSnapshotFile(fsys vfs.FS, name string, read func(io.Reader) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return err
	}
	return read(io.NewSectionReader(f, 0, size))
}

// removeIncomingSnapshots removes snapshot streams left by an earlier run: none of them
// was installed (an install removes its file) and raft never recorded them, so they are
// never the only copy of anything.
func removeIncomingSnapshots(fsys vfs.FS, dir string) error {
	err := fsys.RemoveAll(filepath.Join(dir, incomingDir))
	if err != nil && !vfs.IsNotExist(err) {
		return err
	}
	return nil
}
