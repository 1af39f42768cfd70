package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/internal/readn"
	"github.com/opencmq/opencmq/segment"
	"github.com/opencmq/opencmq/segment/vfs"
)

// Snapshot stream format (part of the replication wire format), for a replica that is too
// far behind to catch up from the log:
//
//	magic "OCMQSNAP" (8) | version u16
//	chunk*                  each: kind (1) | length uvarint | payload | xxhash64(kind, payload) u64
//	  kind 's': the encoded state (as in a checkpoint), exactly once, first
//	  kind 'q': queue id uvarint | first seq uvarint — the records of that queue follow
//	  kind 'm': one message record payload of the current queue, in seq order from first
//	  kind 'e': end; payload = the number of chunks before it (uvarint)
//
// Every chunk carries its own checksum, so a damaged stream is refused before anything is
// installed; the end chunk proves the stream was not cut short.
const (
	snapshotMagic   = "OCMQSNAP"
	snapshotVersion = 1
	maxChunkBytes   = 64 << 20
)

// ErrBadSnapshot is returned by RestoreSnapshot for a stream that fails its checks.
var ErrBadSnapshot = errors.New("engine: corrupt snapshot stream")

type chunkWriter struct {
	w   *bufio.Writer
	n   uint64
	err error
	buf []byte
}

func (cw *chunkWriter) chunk(kind byte, payload []byte) {
	if cw.err != nil {
		return
	}
	cw.buf = appendChunk(cw.buf[:0], kind, payload)
	_, cw.err = cw.w.Write(cw.buf)
	cw.n++
}

// appendChunk appends one framed chunk: kind | length uvarint | payload | checksum.
func appendChunk(dst []byte, kind byte, payload []byte) []byte {
	dst = binary.AppendUvarint(append(dst, kind), uint64(len(payload)))
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint64(dst, chunkSum(kind, payload))
}

func chunkSum(kind byte, payload []byte) uint64 {
	h := xxhash.New()
	h.Write([]byte{kind})
	h.Write(payload)
	return h.Sum64()
}

// WriteSnapshot streams the current state and every stored message to w and returns the
// applied index the snapshot reflects. Applies continue meanwhile; the state is captured at
// one point and the messages it refers to stay on disk until the stream ends.
func (e *Engine) WriteSnapshot(w io.Writer) (uint64, error) {
	type queueRange struct {
		id          uint64
		log         *segment.Log
		first, tail uint64
	}
	if err := e.fatal(); err != nil {
		return 0, fmt.Errorf("engine: no snapshot from a failed engine: %w", err)
	}
	e.snapshotting.Add(1)
	defer e.snapshotting.Add(-1)
	// Exclusive for a moment: opening a log changes the queue.
	e.mu.Lock()
	state := e.sm.encodeState(nil)
	applied := e.sm.applied
	var ranges []queueRange
	for _, q := range e.sm.queuesByID() {
		if q.first < q.tail {
			if err := e.sm.openLog(q); err != nil {
				e.mu.Unlock()
				return 0, err
			}
		}
		ranges = append(ranges, queueRange{q.id, q.log, q.first, q.tail})
	}
	e.mu.Unlock()

	cw := &chunkWriter{w: bufio.NewWriterSize(w, 256<<10)}
	if _, err := cw.w.WriteString(snapshotMagic); err != nil {
		return 0, err
	}
	cw.w.Write(binary.LittleEndian.AppendUint16(nil, snapshotVersion))
	cw.chunk('s', state)
	if err := failpoint.Inject(failpoint.SnapshotSave); err != nil {
		return 0, err
	}
	for _, r := range ranges {
		cw.chunk('q', binary.AppendUvarint(binary.AppendUvarint(nil, r.id), r.first))
		if r.first == r.tail {
			continue
		}
		it := r.log.NewIterator(r.first)
		for seq := r.first; seq < r.tail && cw.err == nil; seq++ {
			if !it.Next() || it.Seq() != seq {
				err := it.Err()
				it.Close()
				return 0, fmt.Errorf("engine: snapshot: queue %d seq %d missing: %v", r.id, seq, err)
			}
			cw.chunk('m', it.Data())
		}
		it.Close()
	}
	cw.chunk('e', binary.AppendUvarint(nil, cw.n))
	if cw.err != nil {
		return 0, cw.err
	}
	return applied, cw.w.Flush()
}

type chunkReader struct {
	r   *bufio.Reader
	n   uint64
	buf []byte
}

func (cr *chunkReader) next() (byte, []byte, error) {
	kind, err := cr.r.ReadByte()
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	n, err := binary.ReadUvarint(cr.r)
	if err != nil || n > maxChunkBytes {
		return 0, nil, fmt.Errorf("%w: bad chunk length", ErrBadSnapshot)
	}
	b, err := readn.Read(cr.r, cr.buf, int(n)+8)
	cr.buf = b[:0]
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if chunkSum(kind, b[:n]) != binary.LittleEndian.Uint64(b[n:]) {
		return 0, nil, fmt.Errorf("%w: chunk %d checksum mismatch", ErrBadSnapshot, cr.n)
	}
	cr.n++
	return kind, b[:n], nil
}

// Directory names used while installing a snapshot.
const (
	restoreDir     = "restore"      // being written; deleted if found at startup
	restoreDoneDir = "restore.done" // complete and durable; switched in at startup if found
	oldQueuesDir   = "queues.old"
)

// RestoreSnapshot replaces the engine's whole state with a snapshot stream from
// WriteSnapshot (normally another replica's). It returns the snapshot's applied index.
// Nothing is replaced unless the whole stream arrives intact: it is staged in a separate
// directory, made durable, and switched in by renames that recovery completes if a crash
// interrupts them. Only a Replicator calls it, from the goroutine that calls Apply.
func (e *Engine) RestoreSnapshot(r io.Reader) (uint64, error) {
	fs := e.opts.FS
	stage := filepath.Join(e.dir, restoreDir)
	if err := fs.RemoveAll(stage); err != nil && !vfs.IsNotExist(err) {
		return 0, err
	}
	if err := fs.MkdirAll(filepath.Join(stage, "queues")); err != nil {
		return 0, err
	}
	staged := &store{fs: fs, dir: stage, segmentBytes: e.opts.SegmentBytes, noSync: e.opts.NoSync}
	sm, err := e.readSnapshot(r, staged)
	if err != nil {
		fs.RemoveAll(stage)
		return 0, err
	}
	if err := writeCheckpoint(fs, stage, nil, sm.encodeState(nil)); err != nil {
		return 0, err
	}
	if err := fs.SyncDir(filepath.Join(stage, "queues")); err != nil {
		return 0, err
	}
	if err := fs.Rename(stage, filepath.Join(e.dir, restoreDoneDir)); err != nil {
		return 0, err
	}
	if err := fs.SyncDir(e.dir); err != nil {
		return 0, err
	}
	if err := failpoint.Inject(failpoint.SnapshotStaged); err != nil {
		return 0, err
	}
	// The staged state is durable: switch it in (recovery finishes this after a crash).
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.sm.closeLogs(); err != nil {
		return 0, err
	}
	if err := finishRestore(fs, e.dir); err != nil {
		return 0, err
	}
	raw, err := readCheckpoint(fs, e.dir)
	if err != nil {
		return 0, err
	}
	next, err := decodeState(raw, e.limits, e.sm.store)
	if err != nil {
		return 0, err
	}
	e.sm = next
	return next.applied, nil
}

// openSnapshot checks a snapshot stream's header and reads its first chunk, which must be
// the state; it returns the reader positioned after it and the state's bytes.
func openSnapshot(r io.Reader) (*chunkReader, []byte, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head := make([]byte, len(snapshotMagic)+2)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(snapshotMagic)]) != snapshotMagic {
		return nil, nil, fmt.Errorf("%w: bad header", ErrBadSnapshot)
	}
	if v := binary.LittleEndian.Uint16(head[len(snapshotMagic):]); v != snapshotVersion {
		return nil, nil, fmt.Errorf("%w: unknown version %d", ErrBadSnapshot, v)
	}
	cr := &chunkReader{r: br}
	kind, payload, err := cr.next()
	if err != nil {
		return nil, nil, err
	}
	if kind != 's' {
		return nil, nil, fmt.Errorf("%w: state chunk missing", ErrBadSnapshot)
	}
	return cr, payload, nil
}

// VerifySnapshot reads a snapshot stream to its end and checks its framing: the header,
// every chunk's checksum and kind, the state chunk first, and the end chunk's count. A
// receiver checks a stream before accepting it, so that one damaged on the way is refused
// (and sent again) rather than found bad while installing, which stops the replica.
// RestoreSnapshot checks the content itself again.
func VerifySnapshot(r io.Reader) error {
	cr, _, err := openSnapshot(r)
	if err != nil {
		return err
	}
	for {
		kind, payload, err := cr.next()
		if err != nil {
			return err
		}
		switch kind {
		case 'q', 'm':
		case 'e':
			d := decoder{b: payload}
			if n := d.uvarint(); d.err != nil || n != cr.n-1 {
				return fmt.Errorf("%w: stream incomplete", ErrBadSnapshot)
			}
			if _, err := cr.r.ReadByte(); err != io.EOF {
				return fmt.Errorf("%w: bytes after the end chunk", ErrBadSnapshot)
			}
			return nil
		default:
			return fmt.Errorf("%w: unknown chunk kind %q", ErrBadSnapshot, kind)
		}
	}
}

// readSnapshot reads a snapshot stream, writing every queue's messages into staged logs.
func (e *Engine) readSnapshot(r io.Reader, staged *store) (*stateMachine, error) {
	cr, payload, err := openSnapshot(r)
	if err != nil {
		return nil, err
	}
	sm, err := decodeState(payload, e.limits, staged)
	if err != nil {
		return nil, err
	}
	var cur *queue
	var log *segment.Log
	closeCur := func() error {
		if log == nil {
			return nil
		}
		if cur != nil && log.LastSeq()+1 != cur.tail {
			return fmt.Errorf("%w: queue %d has %d messages, state expects up to %d", ErrBadSnapshot, cur.id, log.LastSeq(), cur.tail-1)
		}
		err := log.Close()
		log = nil
		return err
	}
	defer func() {
		if log != nil {
			log.Close()
		}
	}()
	seen := 0
	for {
		kind, payload, err := cr.next()
		if err != nil {
			return nil, err
		}
		switch kind {
		case 'q':
			if err := closeCur(); err != nil {
				return nil, err
			}
			d := decoder{b: payload}
			id, first := d.uvarint(), d.uvarint()
			cur = sm.queues[id]
			if d.err != nil || cur == nil || cur.first != first {
				return nil, fmt.Errorf("%w: unexpected queue chunk", ErrBadSnapshot)
			}
			seen++
			log, err = segment.Open(staged.queueDir(id), segment.Options{FS: staged.fs, MaxSegmentBytes: staged.segmentBytes, NoSync: staged.noSync})
			if err != nil {
				return nil, err
			}
			if err := log.Reset(first); err != nil {
				return nil, err
			}
		case 'm':
			if log == nil || log.LastSeq()+1 >= cur.tail {
				return nil, fmt.Errorf("%w: unexpected message chunk", ErrBadSnapshot)
			}
			// A record the engine could not read later would stop the node when a
			// receive reaches it: refuse it now, before anything is installed.
			if _, _, _, ok := decodeMessage(payload); !ok {
				return nil, fmt.Errorf("%w: queue %d: malformed message record", ErrBadSnapshot, cur.id)
			}
			if _, err := log.Append(recMessage, payload); err != nil {
				return nil, err
			}
		case 'e':
			if err := closeCur(); err != nil {
				return nil, err
			}
			d := decoder{b: payload}
			if n := d.uvarint(); d.err != nil || n != cr.n-1 || seen != len(sm.queues) {
				return nil, fmt.Errorf("%w: stream incomplete", ErrBadSnapshot)
			}
			return sm, nil
		default:
			return nil, fmt.Errorf("%w: unknown chunk kind %q", ErrBadSnapshot, kind)
		}
	}
}

// finishRestore switches a durable staged snapshot (dir/restore.done) in place of the live
// queues and checkpoint. Each step can be repeated, so recovery calls it again after a
// crash in the middle; it does nothing if there is no staged snapshot.
func finishRestore(fs vfs.FS, dir string) error {
	done := filepath.Join(dir, restoreDoneDir)
	if _, _, err := fs.Stat(done); vfs.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	queues, old := filepath.Join(dir, "queues"), filepath.Join(dir, oldQueuesDir)
	if _, _, err := fs.Stat(filepath.Join(done, "queues")); err == nil {
		if _, _, err := fs.Stat(queues); err == nil {
			if err := fs.RemoveAll(old); err != nil && !vfs.IsNotExist(err) {
				return err
			}
			if err := fs.Rename(queues, old); err != nil {
				return err
			}
		}
		if err := fs.Rename(filepath.Join(done, "queues"), queues); err != nil {
			return err
		}
		if err := fs.SyncDir(dir); err != nil {
			return err
		}
		if err := failpoint.Inject(failpoint.SnapshotSwitch); err != nil {
			return err
		}
	}
	if _, _, err := fs.Stat(filepath.Join(done, checkpointName)); err == nil {
		if err := fs.Rename(filepath.Join(done, checkpointName), filepath.Join(dir, checkpointName)); err != nil {
			return err
		}
		if err := fs.SyncDir(dir); err != nil {
			return err
		}
	}
	for _, p := range []string{old, done} {
		if err := fs.RemoveAll(p); err != nil && !vfs.IsNotExist(err) {
			return err
		}
	}
	return fs.SyncDir(dir)
}
