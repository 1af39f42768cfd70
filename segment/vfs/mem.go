package vfs

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Op names a kind of file-system operation, for error injection.
type Op int

// The operations seen by an InjectError hook.
const (
	OpCreate   Op = iota // FS.Create
	OpOpen               // FS.Open and FS.OpenRW
	OpWrite              // File.Write
	OpRead               // File.ReadAt
	OpSync               // File.Sync
	OpTruncate           // File.Truncate
	OpRemove             // FS.Remove and FS.RemoveAll
	OpRename             // FS.Rename (the hook gets oldname)
	OpMkdir              // FS.MkdirAll
	OpList               // FS.List
	OpSyncDir            // FS.SyncDir
	OpClose              // File.Close
)

var opNames = [...]string{
	OpCreate:   "create",
	OpOpen:     "open",
	OpWrite:    "write",
	OpRead:     "read",
	OpSync:     "sync",
	OpTruncate: "truncate",
	OpRemove:   "remove",
	OpRename:   "rename",
	OpMkdir:    "mkdir",
	OpList:     "list",
	OpSyncDir:  "syncdir",
	OpClose:    "close",
}

// String returns the lower-case name of the operation ("write", "syncdir", ...).
func (o Op) String() string {
	if o >= 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// ErrInjected is the error returned by operations failed through InjectError.
var ErrInjected = errors.New("vfs: injected error")

// MemFS is an in-memory FS for tests. It models inodes and the durability contract of the
// package (see the package documentation) so that CrashClone can produce the state a disk
// could be in after a power loss, and it can fail chosen operations (InjectError).
//
// Paths are cleaned with path/filepath; a relative path is resolved against the root, so
// "a/b" and "/a/b" name the same file. Directories have size 0.
type MemFS struct {
	mu   sync.Mutex // guards the namespace: entries and durable of every directory
	root *memNode
	hook atomic.Pointer[func(Op, string) error]
}

var _ FS = (*MemFS)(nil)

// memNode is an inode: a directory or a file.
type memNode struct {
	dir bool

	// Directory fields, guarded by MemFS.mu. entries is the current content; durable is
	// the copy made by the last SyncDir (nil if none).
	entries map[string]*memNode
	durable map[string]*memNode

	// File fields, guarded by mu.
	mu     sync.RWMutex
	data   []byte // current content
	synced []byte // content made durable by the last Sync
	// dirty is the lowest offset written or truncated since the last Sync (math.MaxInt64
	// if none). If dirty >= len(synced), data begins with synced: only appends happened.
	dirty int64
}

func newDir() *memNode  { return &memNode{dir: true, entries: map[string]*memNode{}} }
func newFile() *memNode { return &memNode{dirty: math.MaxInt64} }

// NewMem returns an empty in-memory file system. It is safe for concurrent use.
func NewMem() *MemFS {
	root := newDir()
	root.durable = map[string]*memNode{}
	return &MemFS{root: root}
}

// InjectError installs a hook called before every operation with the op and the path it
// concerns (cleaned; for operations on a File, the name it was opened with; for Rename,
// oldname). A non-nil return fails that operation with exactly that error, before it has
// any effect (for writes: nothing is written). nil removes the hook. The hook is called
// without any lock held, so it may itself use m (for example to take a CrashClone just
// before an operation); it must be safe for concurrent use if m is used concurrently.
func (m *MemFS) InjectError(hook func(op Op, path string) error) {
	if hook == nil {
		m.hook.Store(nil)
		return
	}
	m.hook.Store(&hook)
}

func (m *MemFS) inject(op Op, name string) error {
	if h := m.hook.Load(); h != nil {
		return (*h)(op, filepath.Clean(name))
	}
	return nil
}

// splitPath returns the components of name resolved against the root; nil for the root.
func splitPath(name string) []string {
	const sep = string(filepath.Separator)
	p := filepath.Join(sep, name)
	if p == sep {
		return nil
	}
	return strings.Split(strings.TrimPrefix(p, sep), sep)
}

// walk returns the directory named by parts. m.mu must be held.
func (m *MemFS) walk(parts []string) (*memNode, error) {
	d := m.root
	for _, p := range parts {
		c := d.entries[p]
		if c == nil {
			return nil, os.ErrNotExist
		}
		if !c.dir {
			return nil, syscall.ENOTDIR
		}
		d = c
	}
	return d, nil
}

// lookup returns the parent directory of name, its last component and the node it names
// (nil if absent). For the root, parent is nil and base is "". m.mu must be held.
func (m *MemFS) lookup(name string) (parent *memNode, base string, n *memNode, err error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", m.root, nil
	}
	parent, err = m.walk(parts[:len(parts)-1])
	if err != nil {
		return nil, "", nil, err
	}
	base = parts[len(parts)-1]
	return parent, base, parent.entries[base], nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	if err := m.inject(OpCreate, name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup(name)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if n != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: ErrExist}
	}
	n = newFile()
	parent.entries[base] = n
	return &memFile{fs: m, name: filepath.Clean(name), n: n, writable: true}, nil
}

// OpenRW implements FS.
func (m *MemFS) OpenRW(name string) (File, error) { return m.open(name, true) }

// Open implements FS. Opening a directory fails with EISDIR (use SyncDir to sync one).
func (m *MemFS) Open(name string) (File, error) { return m.open(name, false) }

func (m *MemFS) open(name string, writable bool) (File, error) {
	if err := m.inject(OpOpen, name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _, n, err := m.lookup(name)
	if err == nil && n == nil {
		err = ErrNotExist
	} else if err == nil && n.dir {
		err = syscall.EISDIR
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &memFile{fs: m, name: filepath.Clean(name), n: n, writable: writable}, nil
}

// Remove implements FS. Open handles on a removed file keep working on its data.
func (m *MemFS) Remove(name string) error {
	if err := m.inject(OpRemove, name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup(name)
	switch {
	case err != nil:
	case n == nil:
		err = ErrNotExist
	case parent == nil:
		err = syscall.EBUSY
	case n.dir && len(n.entries) > 0:
		err = syscall.ENOTEMPTY
	}
	if err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	delete(parent.entries, base)
	return nil
}

// RemoveAll implements FS. Like rm -r, it unlinks every entry of the tree, so after a
// crash a directory whose removal was not made durable may reappear with some entries.
// It returns nil if name does not exist.
func (m *MemFS) RemoveAll(name string) error {
	if err := m.inject(OpRemove, name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookup(name)
	if errors.Is(err, ErrNotExist) || (err == nil && n == nil) {
		return nil
	}
	if err == nil && parent == nil {
		err = syscall.EBUSY
	}
	if err != nil {
		return &os.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	var unlinkTree func(d *memNode)
	unlinkTree = func(d *memNode) {
		for name, c := range d.entries {
			if c.dir {
				unlinkTree(c)
			}
			delete(d.entries, name)
		}
	}
	if n.dir {
		unlinkTree(n)
	}
	delete(parent.entries, base)
	return nil
}

// Rename implements FS. It replaces newname if it is a file, or an empty directory when
// oldname is a directory. Open handles keep pointing at the renamed file.
func (m *MemFS) Rename(oldname, newname string) error {
	if err := m.inject(OpRename, oldname); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fail := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	op, obase, on, err := m.lookup(oldname)
	if err == nil && on == nil {
		err = ErrNotExist
	}
	if err != nil {
		return fail(err)
	}
	np, nbase, nn, err := m.lookup(newname)
	if err != nil {
		return fail(err)
	}
	if op == nil || np == nil {
		return fail(syscall.EBUSY)
	}
	if on == nn {
		return nil
	}
	if on.dir {
		// newname may not lie inside oldname.
		oparts, nparts := splitPath(oldname), splitPath(newname)
		if len(nparts) > len(oparts) && slices.Equal(nparts[:len(oparts)], oparts) {
			return fail(syscall.EINVAL)
		}
	}
	if nn != nil {
		switch {
		case on.dir && !nn.dir:
			return fail(syscall.ENOTDIR)
		case !on.dir && nn.dir:
			return fail(syscall.EISDIR)
		case nn.dir && len(nn.entries) > 0:
			return fail(syscall.ENOTEMPTY)
		}
	}
	delete(op.entries, obase)
	np.entries[nbase] = on
	return nil
}

// MkdirAll implements FS. Each directory it creates is an entry of its parent, durable
// only after a SyncDir of that parent.
func (m *MemFS) MkdirAll(dir string) error {
	if err := m.inject(OpMkdir, dir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.root
	for _, p := range splitPath(dir) {
		c := d.entries[p]
		if c == nil {
			c = newDir()
			d.entries[p] = c
		} else if !c.dir {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		d = c
	}
	return nil
}

// List implements FS.
func (m *MemFS) List(dir string) ([]string, error) {
	if err := m.inject(OpList, dir); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.walk(splitPath(dir))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	names := make([]string, 0, len(d.entries))
	for name := range d.entries {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements FS. Directories have size 0.
func (m *MemFS) Stat(name string) (int64, bool, error) {
	m.mu.Lock()
	_, _, n, err := m.lookup(name)
	m.mu.Unlock()
	if err == nil && n == nil {
		err = ErrNotExist
	}
	if err != nil {
		return 0, false, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if n.dir {
		return 0, true, nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return int64(len(n.data)), false, nil
}

// SyncDir implements FS: it makes the current entries of dir durable. It fails with
// ENOTDIR if dir is a file.
func (m *MemFS) SyncDir(dir string) error {
	if err := m.inject(OpSyncDir, dir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.walk(splitPath(dir))
	if err != nil {
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	d.durable = make(map[string]*memNode, len(d.entries))
	for name, c := range d.entries {
		d.durable[name] = c
	}
	return nil
}

// SyncedSize reports (for tests) the durable size of a file: the size it would have after a
// crash if no unsynced byte survived. Useful to check "everything confirmed durable is here".
func (m *MemFS) SyncedSize(path string) (int64, error) {
	m.mu.Lock()
	_, _, n, err := m.lookup(path)
	m.mu.Unlock()
	if err == nil && n == nil {
		err = ErrNotExist
	} else if err == nil && n.dir {
		err = syscall.EISDIR
	}
	if err != nil {
		return 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return int64(len(n.synced)), nil
}

// CrashClone returns a new MemFS holding what could be on disk if the power failed now;
// m itself is unchanged and can keep being used. The result depends only on m's state and
// on rng. The model:
//
// File data. Each file keeps the content made durable by its last File.Sync, plus:
//   - if since that Sync only appends happened (nothing was written or truncated below the
//     synced size), a random prefix of the appended bytes: none, all, or a uniform cut;
//   - otherwise (overwrite or truncation below the synced size), with probability 1/2 the
//     synced content, else the current content cut at a random point at or after the
//     lowest offset modified since the Sync.
//
// A file whose data was never synced may therefore come back empty. Bytes never written
// are never invented, except the zeros of a Truncate that grew the file.
//
// Directory entries. Each directory keeps its entries as of its last SyncDir. Every entry
// whose current state differs from that (created, removed, replaced or renamed since)
// independently keeps its old or its new state, each with probability 1/2, with one
// correction that models the atomicity of rename: a file or directory that is durably
// linked in a directory present in the clone and that is still linked somewhere in m
// never vanishes; if the coin flips lost it, its old entry is restored. So after an
// unsynced rename the clone has the old name, the new name, or both. A directory whose
// own entry is lost takes its whole subtree with it.
//
// Limitations: when both names of a renamed file survive, each gets its own copy of the
// data (no hard links), and a directory reachable twice is kept only at the first path in
// sorted walk order (entries that would form a cycle are dropped). Every entry and byte of
// the clone is durable: a CrashClone of the clone returns the same tree.
func (m *MemFS) CrashClone(rng *rand.Rand) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()

	// Inodes linked in the current tree.
	live := map[*memNode]bool{}
	var mark func(d *memNode)
	mark = func(d *memNode) {
		for _, c := range d.entries {
			if !live[c] {
				live[c] = true
				if c.dir {
					mark(c)
				}
			}
		}
	}
	mark(m.root)

	type key struct {
		dir  *memNode
		name string
	}
	keepNew := map[key]bool{} // coin flips for entries that changed since SyncDir
	forced := map[key]bool{}  // entries restored to their durable state
	// resolve returns the sorted names and nodes dir has in the clone.
	resolve := func(d *memNode) ([]string, []*memNode) {
		names := make([]string, 0, len(d.entries))
		for name := range d.entries {
			names = append(names, name)
		}
		for name := range d.durable {
			if _, ok := d.entries[name]; !ok {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		outNames, outNodes := names[:0], make([]*memNode, 0, len(names))
		for _, name := range names {
			cur, old := d.entries[name], d.durable[name]
			n := cur
			if cur != old {
				k := key{d, name}
				if forced[k] {
					n = old
				} else {
					flip, ok := keepNew[k]
					if !ok {
						flip = rng.IntN(2) == 0
						keepNew[k] = flip
					}
					if !flip {
						n = old
					}
				}
			}
			if n != nil {
				outNames = append(outNames, name)
				outNodes = append(outNodes, n)
			}
		}
		return outNames, outNodes
	}
	// walk visits the clone's tree in sorted order, each directory once, calling visit for
	// every entry kept; it returns the directories reached.
	walk := func(visit func(parent *memNode, name string, n *memNode)) []*memNode {
		seen := map[*memNode]bool{m.root: true}
		dirs := []*memNode{m.root}
		for i := 0; i < len(dirs); i++ {
			d := dirs[i]
			names, nodes := resolve(d)
			for j, n := range nodes {
				if n.dir {
					if seen[n] {
						continue
					}
					seen[n] = true
					dirs = append(dirs, n)
				}
				visit(d, names[j], n)
			}
		}
		return dirs
	}

	// Rename atomicity: restore durable entries of live inodes the coin flips lost.
	for changed := true; changed; {
		changed = false
		reached := map[*memNode]bool{}
		dirs := walk(func(_ *memNode, _ string, n *memNode) { reached[n] = true })
		for _, d := range dirs {
			names := make([]string, 0, len(d.durable))
			for name := range d.durable {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				old := d.durable[name]
				if live[old] && !reached[old] && !forced[key{d, name}] {
					forced[key{d, name}] = true
					changed = true
				}
			}
		}
	}

	// Build the clone.
	contents := map[*memNode][]byte{}
	clones := map[*memNode]*memNode{m.root: NewMem().root}
	walk(func(parent *memNode, name string, n *memNode) {
		var c *memNode
		if n.dir {
			c = newDir()
			c.durable = map[string]*memNode{}
			clones[n] = c
		} else {
			data, ok := contents[n]
			if !ok {
				data = n.crashData(rng)
				contents[n] = data
			}
			c = newFile()
			c.data = slices.Clone(data)
			c.synced = slices.Clone(data)
		}
		cp := clones[parent]
		cp.entries[name] = c
		cp.durable[name] = c
	})
	return &MemFS{root: clones[m.root]}
}

// KillClone returns a new MemFS holding what the disk holds if the process dies now and
// the machine keeps running (kill -9): every byte written and every directory change,
// synced or not, since the page cache survives a process crash. m is unchanged. Like a
// CrashClone, every entry and byte of the clone is durable.
func (m *MemFS) KillClone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := NewMem()
	var copyDir func(src, dst *memNode)
	copyDir = func(src, dst *memNode) {
		for name, c := range src.entries {
			var n *memNode
			if c.dir {
				n = newDir()
				n.durable = map[string]*memNode{}
				copyDir(c, n)
			} else {
				n = newFile()
				c.mu.RLock()
				n.data, n.synced = slices.Clone(c.data), slices.Clone(c.data)
				c.mu.RUnlock()
			}
			dst.entries[name], dst.durable[name] = n, n
		}
	}
	copyDir(m.root, out.root)
	return out
}

// crashData returns the content n could have after a crash (see CrashClone).
func (n *memNode) crashData(rng *rand.Rand) []byte {
	n.mu.RLock()
	defer n.mu.RUnlock()
	cut := func(from int) []byte {
		k := len(n.data) - from
		switch rng.IntN(4) {
		case 0:
			k = 0
		case 1:
		default:
			k = rng.IntN(k + 1)
		}
		return slices.Clone(n.data[:from+k])
	}
	if n.dirty >= int64(len(n.synced)) {
		return cut(len(n.synced))
	}
	if rng.IntN(2) == 0 {
		return slices.Clone(n.synced)
	}
	return cut(int(min(n.dirty, int64(len(n.data)))))
}

// memFile is an open handle on a memNode.
type memFile struct {
	fs       *MemFS
	name     string
	n        *memNode
	writable bool
	closed   atomic.Bool
	off      int64 // offset of the next Write; File is not safe for concurrent Seek/Write
}

func (f *memFile) check(op Op, pathOp string, write bool) error {
	if err := f.fs.inject(op, f.name); err != nil {
		return err
	}
	if f.closed.Load() {
		return &os.PathError{Op: pathOp, Path: f.name, Err: os.ErrClosed}
	}
	if write && !f.writable {
		return &os.PathError{Op: pathOp, Path: f.name, Err: syscall.EBADF}
	}
	return nil
}

// ReadAt implements io.ReaderAt like os.File: a short read returns io.EOF. It may run
// concurrently with Write and Truncate on this or any other handle on the same file.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check(OpRead, "read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.name, Err: errors.New("negative offset")}
	}
	f.n.mu.RLock()
	defer f.n.mu.RUnlock()
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[off:])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// Write writes p at the current offset and advances it. Writing past the end fills the
// gap with zeros.
func (f *memFile) Write(p []byte) (int, error) {
	if err := f.check(OpWrite, "write", true); err != nil {
		return 0, err
	}
	n := f.n
	n.mu.Lock()
	defer n.mu.Unlock()
	end := f.off + int64(len(p))
	n.dirty = min(n.dirty, f.off, int64(len(n.data)))
	if end > int64(len(n.data)) {
		n.data = slices.Grow(n.data, int(end)-len(n.data))
		n.data = n.data[:end]
	}
	copy(n.data[f.off:], p)
	f.off = end
	return len(p), nil
}

// Seek sets the offset of the next Write.
func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	if f.closed.Load() {
		return 0, &os.PathError{Op: "seek", Path: f.name, Err: os.ErrClosed}
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		s, err := f.Size()
		if err != nil {
			return 0, err
		}
		base = s
	default:
		return 0, &os.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	if base+offset < 0 {
		return 0, &os.PathError{Op: "seek", Path: f.name, Err: syscall.EINVAL}
	}
	f.off = base + offset
	return f.off, nil
}

// Truncate changes the size of the file, growing it with zeros or shrinking it. It does
// not move the offset.
func (f *memFile) Truncate(size int64) error {
	if err := f.check(OpTruncate, "truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: syscall.EINVAL}
	}
	n := f.n
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dirty = min(n.dirty, size, int64(len(n.data)))
	if size <= int64(len(n.data)) {
		clear(n.data[size:]) // a later grow must read zeros
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
	}
	return nil
}

// Size reports the current size of the file.
func (f *memFile) Size() (int64, error) {
	if f.closed.Load() {
		return 0, &os.PathError{Op: "stat", Path: f.name, Err: os.ErrClosed}
	}
	f.n.mu.RLock()
	defer f.n.mu.RUnlock()
	return int64(len(f.n.data)), nil
}

// Sync makes the current content of the file durable (not its directory entry).
func (f *memFile) Sync() error {
	if err := f.check(OpSync, "sync", false); err != nil {
		return err
	}
	n := f.n
	n.mu.Lock()
	defer n.mu.Unlock()
	n.synced = slices.Clone(n.data)
	n.dirty = math.MaxInt64
	return nil
}

// Close closes the handle; every later operation on it fails.
func (f *memFile) Close() error {
	if err := f.fs.inject(OpClose, f.name); err != nil {
		return err
	}
	if f.closed.Swap(true) {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	return nil
}
