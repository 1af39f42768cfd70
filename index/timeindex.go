package index

import (
	"errors"
	"fmt"
)

// TimeIndexIntervalDefault is the TimeIndex interval used when Interval is 0.
const TimeIndexIntervalDefault = 256

// TimeEntry is an entry of a TimeIndex: message Seq was enqueued at time T.
type TimeEntry struct {
	T   int64
	Seq uint64
}

// TimeIndex is a sparse index from enqueue time to sequence number, used to rewind a
// queue to a point in time and to find what retention must drop. Messages are added with
// strictly increasing seqs and non-decreasing times. The index keeps an entry for the
// first message and then for the first message at least Interval seqs past the previous
// entry, so with the engine's dense seqs one in every Interval messages, and any lookup
// needs to scan at most Interval messages of the log.
//
// Entries live in a slice: they are appended in order and trimmed from the front, so
// lookups are binary searches and Add and TrimBelow are amortised O(1).
//
// The zero value is an empty index with the default interval, ready to use; it allocates
// nothing until the first Add. A TimeIndex is not safe for concurrent use.
type TimeIndex struct {
	// Interval is the spacing of entries, in seqs; 0 (or less) means
	// TimeIndexIntervalDefault. Set it before the first Add.
	Interval int

	// buf[off:] are the entries. The dead prefix buf[:off] is dropped by copying once it
	// outgrows the live part. Entries are never modified in place, which lets Clone share
	// buf.
	buf     []TimeEntry
	off     int
	lastT   int64  // time of the last message added
	lastSeq uint64 // seq of the last message added; valid when len(buf) > off
}

func (x *TimeIndex) interval() uint64 {
	if x.Interval <= 0 {
		return TimeIndexIntervalDefault
	}
	return uint64(x.Interval)
}

func (x *TimeIndex) entries() []TimeEntry { return x.buf[x.off:] }

// Add records that message seq was enqueued at time t. Seqs must strictly increase: Add
// panics otherwise, as that is a caller bug that would silently void Lookup's contract.
// A t smaller than the previous message's is clamped to it, so the index sees a
// non-decreasing sequence of times; Lookup's contract holds for those clamped times, so a
// caller should store the clamped time (see Last) with the message.
func (x *TimeIndex) Add(t int64, seq uint64) {
	e := x.entries()
	if len(e) > 0 {
		if seq <= x.lastSeq {
			panic(fmt.Sprintf("index: TimeIndex.Add seq %d after %d", seq, x.lastSeq))
		}
		t = max(t, x.lastT)
	}
	x.lastT, x.lastSeq = t, seq
	if len(e) == 0 || seq-e[len(e)-1].Seq >= x.interval() {
		x.buf = append(x.buf, TimeEntry{T: t, Seq: seq})
	}
}

// Lookup returns the seq from which a caller must scan the log forward to find the first
// message enqueued at or after t, given that first is the lowest seq still stored (at
// least the seq of the first message added): every message in [first, result) has time
// < t, and the first message with time >= t, if any, is among the Interval messages
// starting at result; if there is none, fewer than Interval messages follow result.
// It finds the greatest entry e with e.T < t and returns max(first, e.Seq+1), or first if
// there is no such entry. O(log n).
func (x *TimeIndex) Lookup(t int64, first uint64) uint64 {
	e := x.entries()
	lo, hi := 0, len(e) // find the first entry with T >= t
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m].T < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return first
	}
	return max(first, e[lo-1].Seq+1)
}

// TrimBelow drops the entries no longer needed once the messages below seq are gone. It
// keeps the greatest entry below seq, which still bounds lookups that land just above it.
func (x *TimeIndex) TrimBelow(seq uint64) {
	e := x.entries()
	lo, hi := 0, len(e) // find the first entry with Seq >= seq
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e[m].Seq < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo <= 1 {
		return
	}
	x.off += lo - 1
	if live := len(x.buf) - x.off; x.off > live {
		x.buf = append([]TimeEntry(nil), x.buf[x.off:]...)
		x.off = 0
	}
}

// Last returns the time (as clamped) and seq of the last message added, or false if none
// has been.
func (x *TimeIndex) Last() (t int64, seq uint64, ok bool) {
	if len(x.entries()) == 0 {
		return 0, 0, false
	}
	return x.lastT, x.lastSeq, true
}

// Len returns the number of entries.
func (x *TimeIndex) Len() int { return len(x.buf) - x.off }

// Ascend calls fn for each entry in order until fn returns false.
func (x *TimeIndex) Ascend(fn func(t int64, seq uint64) bool) {
	for _, e := range x.entries() {
		if !fn(e.T, e.Seq) {
			return
		}
	}
}

// Entries returns a copy of the entries, in order, for a checkpoint. Together with
// Interval and Last they determine the index exactly; see Restore.
func (x *TimeIndex) Entries() []TimeEntry {
	return append([]TimeEntry(nil), x.entries()...)
}

// Restore replaces x's contents with an index rebuilt from a checkpoint: the interval,
// the entries (as returned by Entries) and the last message added (as returned by Last).
// Because where the next entry goes depends only on the last entry's seq, the restored
// index behaves exactly like the original for all future calls. Restore copies entries.
// It returns an error, leaving x unchanged, if the input is inconsistent: entries out of
// order, or a last message before the last entry. With no entries, lastSeq and lastT are
// ignored.
func (x *TimeIndex) Restore(interval int, entries []TimeEntry, lastSeq uint64, lastT int64) error {
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq <= entries[i-1].Seq || entries[i].T < entries[i-1].T {
			return fmt.Errorf("index: time index entry %d (%d@%d) out of order after (%d@%d)",
				i, entries[i].Seq, entries[i].T, entries[i-1].Seq, entries[i-1].T)
		}
	}
	if n := len(entries); n > 0 && (lastSeq < entries[n-1].Seq || lastT < entries[n-1].T) {
		return errors.New("index: time index last message precedes its last entry")
	}
	*x = TimeIndex{Interval: interval}
	if len(entries) > 0 {
		x.buf = append([]TimeEntry(nil), entries...)
		x.lastT, x.lastSeq = lastT, lastSeq
	}
	return nil
}

// RestoreTimeIndex returns a TimeIndex rebuilt from a checkpoint; see Restore.
func RestoreTimeIndex(interval int, entries []TimeEntry, lastSeq uint64, lastT int64) (*TimeIndex, error) {
	x := new(TimeIndex)
	if err := x.Restore(interval, entries, lastSeq, lastT); err != nil {
		return nil, err
	}
	return x, nil
}

// Clone returns a copy of x in O(1). The two share the entry array: x's later appends
// land beyond the clone's capacity, and the clone's reallocate.
func (x *TimeIndex) Clone() *TimeIndex {
	c := *x
	c.buf = x.buf[x.off:len(x.buf):len(x.buf)]
	c.off = 0
	return &c
}
