package segment

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// model is the simplest possible log: a slice of records starting at first, plus the
// segment boundaries the documented roll rule produces (so that Stats and DropBefore can
// be checked exactly).
type model struct {
	o       Options
	first   uint64
	recs    []testRec // recs[i] has seq first+i
	segs    []modelSeg
	durable uint64 // lower bound the API has promised
}

type modelSeg struct {
	first uint64
	size  int64
}

func newModel(o Options) *model {
	return &model{o: o, first: 1, segs: []modelSeg{{1, headerSize}}}
}

func (m *model) next() uint64 { return m.first + uint64(len(m.recs)) }

func (m *model) rec(seq uint64) (testRec, bool) {
	if seq < m.first || seq >= m.next() {
		return testRec{}, false
	}
	return m.recs[seq-m.first], true
}

func (m *model) append(typ byte, datas [][]byte) {
	if len(datas) == 0 {
		return
	}
	need := int64(0)
	for _, d := range datas {
		need += frameHeaderSize + int64(len(d))
	}
	a := &m.segs[len(m.segs)-1]
	if m.next() > a.first && a.size+need > m.o.MaxSegmentBytes {
		m.segs = append(m.segs, modelSeg{m.next(), headerSize})
		a = &m.segs[len(m.segs)-1]
	}
	a.size += need
	for _, d := range datas {
		m.recs = append(m.recs, testRec{typ, bytes.Clone(d)})
	}
}

func (m *model) dropBefore(seq uint64) {
	for len(m.segs) > 1 && m.segs[1].first <= seq {
		m.recs = m.recs[m.segs[1].first-m.segs[0].first:]
		m.segs = m.segs[1:]
		m.first = m.segs[0].first
	}
}

func (m *model) truncateFrom(seq uint64) {
	for len(m.segs) > 1 && m.segs[len(m.segs)-1].first > seq {
		m.segs = m.segs[:len(m.segs)-1]
	}
	a := &m.segs[len(m.segs)-1]
	a.size = headerSize
	for s := a.first; s < seq; s++ {
		a.size += frameHeaderSize + int64(len(m.recs[s-m.first].data))
	}
	m.recs = m.recs[:seq-m.first]
	m.durable = seq - 1
}

func (m *model) reset(next uint64) {
	m.first, m.recs, m.segs, m.durable = next, nil, []modelSeg{{next, headerSize}}, next-1
}

func (m *model) stats() Stats {
	st := Stats{Segments: len(m.segs), FirstSeq: m.first, LastSeq: m.next() - 1}
	for _, s := range m.segs {
		st.Bytes += s.size
	}
	return st
}

// TestModel runs random sequences of every operation against the model, on many seeds,
// and compares every result: seqs, errors, reads, iterations, Stats, and the whole
// content after every close and reopen.
func TestModel(t *testing.T) {
	for seed := range uint64(seedCount(150, 30)) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed) })
	}
}

func runModel(t *testing.T, seed uint64) {
	rng := newRand(seed)
	o := Options{
		MaxSegmentBytes: int64(headerSize + 50 + rng.IntN(2000)),
		IndexInterval:   1 + rng.IntN(600),
		MaxRecordBytes:  1 + rng.IntN(400),
		LazyOpen:        rng.IntN(2) == 0,
		NoSync:          rng.IntN(4) == 0,
	}
	fs := vfs.NewMem()
	m := newModel(o)
	l := mustOpen(t, fs, testDir, o)
	defer func() { l.Close() }()
	randSeq := func() uint64 { // mostly valid, sometimes just outside
		lo := m.first - min(m.first, 2)
		return lo + rng.Uint64N(m.next()+2-lo)
	}
	payload := func() []byte {
		n := rng.IntN(o.MaxRecordBytes + 1)
		if rng.IntN(30) == 0 {
			n = o.MaxRecordBytes + 1 + rng.IntN(10) // too large
		}
		return payloadFor(rng.Uint64(), 0, n)
	}
	var history []string
	defer func() {
		if t.Failed() {
			t.Logf("options %+v; last operations: %v", o, history[max(0, len(history)-15):])
		}
	}()
	for step := range 400 {
		op := rng.IntN(100)
		switch {
		case op < 30: // append
			d, typ := payload(), byte(rng.IntN(256))
			history = append(history, fmt.Sprintf("Append(%d bytes)", len(d)))
			seq, err := l.Append(typ, d)
			if len(d) > o.MaxRecordBytes {
				if !errors.Is(err, ErrRecordTooLarge) {
					t.Fatalf("step %d: Append of %d bytes: %v", step, len(d), err)
				}
				break
			}
			if err != nil || seq != m.next() {
				t.Fatalf("step %d: Append = %d, %v; want %d", step, seq, err, m.next())
			}
			m.append(typ, [][]byte{d})
		case op < 40: // batch
			n := rng.IntN(6)
			var ds [][]byte
			tooLarge := false
			for range n {
				d := payload()
				tooLarge = tooLarge || len(d) > o.MaxRecordBytes
				ds = append(ds, d)
			}
			typ := byte(rng.IntN(256))
			history = append(history, fmt.Sprintf("AppendBatch(%d)", n))
			first, err := l.AppendBatch(typ, ds)
			switch {
			case tooLarge:
				if !errors.Is(err, ErrRecordTooLarge) {
					t.Fatalf("step %d: oversized batch: %v", step, err)
				}
			case err != nil || first != m.next():
				t.Fatalf("step %d: AppendBatch = %d, %v; want %d", step, first, err, m.next())
			default:
				m.append(typ, ds)
			}
		case op < 45: // sync
			history = append(history, "Sync")
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			m.durable = m.next() - 1
		case op < 50: // wait durable
			seq := randSeq()
			history = append(history, fmt.Sprintf("WaitDurable(%d)", seq))
			err := l.WaitDurable(seq)
			switch {
			case seq >= m.next() && seq > m.durable:
				if !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("step %d: WaitDurable(%d) beyond LastSeq: %v", step, seq, err)
				}
			case err != nil:
				t.Fatalf("step %d: WaitDurable(%d): %v", step, seq, err)
			default:
				m.durable = max(m.durable, seq)
			}
		case op < 65: // read
			seq := randSeq()
			history = append(history, fmt.Sprintf("Read(%d)", seq))
			var buf []byte
			if rng.IntN(2) == 0 {
				buf = make([]byte, rng.IntN(300))
			}
			typ, data, err := l.Read(seq, buf)
			want, ok := m.rec(seq)
			if !ok {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("step %d: Read(%d) outside [%d,%d]: %v", step, seq, m.first, m.next()-1, err)
				}
				break
			}
			if err != nil || typ != want.typ || !bytes.Equal(data, want.data) {
				t.Fatalf("step %d: Read(%d) = %d, %d bytes, %v; want %d, %d bytes", step, seq, typ, len(data), err, want.typ, len(want.data))
			}
		case op < 72: // iterate
			from := randSeq()
			history = append(history, fmt.Sprintf("Iterate(%d)", from))
			checkIteration(t, l, m, from, rng.IntN(50))
		case op < 77: // drop
			seq := randSeq()
			history = append(history, fmt.Sprintf("DropBefore(%d)", seq))
			if err := l.DropBefore(seq); err != nil {
				t.Fatal(err)
			}
			m.dropBefore(seq)
		case op < 84: // truncate
			seq := randSeq()
			history = append(history, fmt.Sprintf("TruncateFrom(%d)", seq))
			err := l.TruncateFrom(seq)
			switch {
			case seq < m.first || seq > m.next():
				if !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("step %d: TruncateFrom(%d) outside [%d,%d]: %v", step, seq, m.first, m.next(), err)
				}
			case err != nil:
				t.Fatalf("step %d: TruncateFrom(%d): %v", step, seq, err)
			case seq < m.next():
				m.truncateFrom(seq)
			}
		case op < 86: // reset
			next := 1 + rng.Uint64N(m.next()+10)
			history = append(history, fmt.Sprintf("Reset(%d)", next))
			if err := l.Reset(next); err != nil {
				t.Fatal(err)
			}
			m.reset(next)
		default: // close and reopen
			history = append(history, "Reopen")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			m.durable = m.next() - 1
			l = mustOpen(t, fs, testDir, o)
			checkIteration(t, l, m, 0, -1)
		}
		st := l.Stats()
		want := m.stats()
		want.DurableSeq, want.Recovered = st.DurableSeq, st.Recovered
		if st != want {
			t.Fatalf("step %d (%s): Stats %+v, model %+v", step, history[len(history)-1], st, want)
		}
		if st.DurableSeq < m.durable || st.DurableSeq > st.LastSeq || st.Recovered != (RecoveryReport{}) {
			t.Fatalf("step %d: DurableSeq %d, promised %d; %+v", step, st.DurableSeq, m.durable, st)
		}
	}
}

// checkIteration iterates from `from` for up to n records (all if n < 0) and compares
// with the model.
func checkIteration(t *testing.T, l *Log, m *model, from uint64, n int) {
	t.Helper()
	it := l.NewIterator(from)
	defer it.Close()
	seq := max(from, m.first)
	for count := 0; n < 0 || count < n; count++ {
		if !it.Next() {
			break
		}
		want, ok := m.rec(seq)
		if !ok || it.Seq() != seq || it.Type() != want.typ || !bytes.Equal(it.Data(), want.data) {
			t.Fatalf("iterator from %d: got seq %d (%d bytes), want seq %d (%d bytes, exists %v)", from, it.Seq(), len(it.Data()), seq, len(want.data), ok)
		}
		seq++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator from %d: %v", from, err)
	}
	if n < 0 && seq != m.next() {
		t.Fatalf("iterator from %d stopped at %d, LastSeq %d", from, seq, m.next()-1)
	}
}
