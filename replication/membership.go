package replication

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/opencmq/opencmq/segment/vfs"
)

// membership is the group's members with their raft addresses, and every id ever removed
// (ids are never reused: a node that was removed and comes back with its old id and old log
// could vote twice). It is persisted in membersFile after every change, atomically.
type membership struct {
	fs      vfs.FS
	mu      sync.Mutex
	peers   map[uint64]string
	removed map[uint64]bool
}

const membersFile = "members.json"

type membersOnDisk struct {
	Peers   []Peer   `json:"peers"`
	Removed []uint64 `json:"removed"`
}

// loadMembership reads dir/members.json. A file that does not decode (0 bytes included:
// it is always replaced atomically, so a crash cannot leave it empty) is refused with an
// error naming it, never taken for "no members".
func loadMembership(fsys vfs.FS, dir string) (*membership, error) {
	m := &membership{fs: fsys, peers: map[uint64]string{}, removed: map[uint64]bool{}}
	path := filepath.Join(dir, membersFile)
	b, err := vfs.ReadFile(fsys, path)
	if vfs.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	var d membersOnDisk
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("replication: corrupt membership file %s (%d bytes): %w", path, len(b), err)
	}
	for _, p := range d.Peers {
		m.peers[p.ID] = p.Addr
	}
	for _, id := range d.Removed {
		m.removed[id] = true
	}
	return m, nil
}

func (m *membership) set(p Peer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.removed[p.ID] {
		m.peers[p.ID] = p.Addr
	}
}

func (m *membership) remove(id uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.peers, id)
	m.removed[id] = true
}

func (m *membership) has(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.peers[id]
	return ok
}

func (m *membership) wasRemoved(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removed[id]
}

func (m *membership) list() []Peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Peer, 0, len(m.peers))
	for id, addr := range m.peers {
		out = append(out, Peer{ID: id, Addr: addr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (m *membership) snapshot() membersOnDisk {
	d := membersOnDisk{Peers: m.list()}
	m.mu.Lock()
	for id := range m.removed {
		d.Removed = append(d.Removed, id)
	}
	m.mu.Unlock()
	sort.Slice(d.Removed, func(i, j int) bool { return d.Removed[i] < d.Removed[j] })
	return d
}

// save writes the membership atomically: temp file, fsync, rename, fsync the directory.
func (m *membership) save(dir string) error {
	b, err := json.Marshal(m.snapshot())
	if err != nil {
		return err
	}
	return vfs.WriteFileAtomic(m.fs, dir, membersFile, b)
}
