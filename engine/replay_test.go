package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

func TestReplaySetAdmit(t *testing.T) {
	s := newReplaySet(Limits{MaxReplayKeys: 4, MaxReplaySeconds: 600})
	const t0 = 1_700_000_000
	ms := func(sec int64) int64 { return sec * 1000 }
	admit := func(hash uint64, exp, now int64, want error) {
		t.Helper()
		if err := s.admit(ReplayKey{Hash: hash, Expiry: exp}, ms(now)); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("admit(%d, exp %d) at %d: %v, want %v", hash, exp, now, err, want)
		}
	}
	admit(1, t0+300, t0, nil)
	admit(1, t0+300, t0, ErrReplayed)
	admit(1, t0+301, t0+1, ErrReplayed) // the same hash is the same request, whatever it says
	admit(2, t0+300, t0, nil)
	admit(3, t0-1, t0, ErrReplayTooOld) // expired: cannot be told from a forgotten one
	admit(3, t0, t0, ErrReplayTooOld)
	admit(3, t0+302, t0, nil)
	admit(4, t0+5000, t0, nil) // clamped to t0+600
	if got := s.m[4]; got != t0+600 {
		t.Fatalf("expiry %d, want clamped to %d", got, t0+600)
	}
	// Full: the bucket that expires first (1 and 2, at t0+300) goes, and floor rises to it.
	admit(5, t0+303, t0+2, nil)
	if len(s.m) != 3 || s.floor != t0+300 {
		t.Fatalf("after eviction: %d keys, floor %d", len(s.m), s.floor)
	}
	admit(1, t0+300, t0+2, ErrReplayTooOld) // may be a replay of a forgotten key
	admit(6, t0+300, t0+2, ErrReplayTooOld)
	admit(6, t0+301, t0+2, nil)
	// Time passes: keys go when they expire.
	s.sweep(t0 + 302)
	if _, ok := s.m[6]; ok || len(s.m) != 2 { // 3 and 6 expired; 4 and 5 stay
		t.Fatalf("after sweeping to t0+302: %v", s.m)
	}
	// A long idle gap sweeps through the buckets, not the seconds.
	s.sweep(t0 + 10_000_000)
	if len(s.m) != 0 || len(s.buckets) != 0 {
		t.Fatalf("after a long gap: %v %v", s.m, s.buckets)
	}
}

func TestReplaySetEncoding(t *testing.T) {
	l := Limits{MaxReplayKeys: 100, MaxReplaySeconds: 600}
	s := newReplaySet(l)
	const t0 = 1_700_000_000_000
	for i := uint64(1); i <= 50; i++ {
		if err := s.admit(ReplayKey{Hash: i * 0x9e3779b97f4a7c15, Expiry: t0/1000 + int64(i%7) + 10}, t0); err != nil {
			t.Fatal(err)
		}
	}
	enc := s.appendState(nil)
	back := newReplaySet(l)
	d := decoder{b: enc}
	if err := d.replaySet(&back); err != nil || len(d.b) != 0 {
		t.Fatalf("decode: %v, %d bytes left", err, len(d.b))
	}
	if !bytes.Equal(back.appendState(nil), enc) {
		t.Fatal("round trip changed the encoding")
	}
	// The restored set answers as the original.
	for i := uint64(1); i <= 60; i++ {
		k := ReplayKey{Hash: i * 0x9e3779b97f4a7c15, Expiry: t0/1000 + 20}
		if a, b := s.admit(k, t0+3000), back.admit(k, t0+3000); a != b {
			t.Fatalf("key %d: original %v, restored %v", i, a, b)
		}
	}
	for _, bad := range [][]byte{
		{0, 0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0},          // a zero key
		{0, 0, 2, 4, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1}, // expiries not increasing
	} {
		d := decoder{b: bad}
		if err := d.replaySet(&[]replaySet{newReplaySet(l)}[0]); err == nil {
			t.Fatalf("accepted %x", bad)
		}
	}
}

// sendKeyed sends one message as the signed request k.
func sendKeyed(e *Engine, k ReplayKey, body string) error {
	_, err := e.SendMessage(WithReplayKey(context.Background(), k), "ns", "q", []byte(body), 0)
	return err
}

// TestReplayRefusedEverywhere: a signed request applied once is refused when it comes
// again through another replica, after that replica restarts from its checkpoint, after a
// standalone restart or crash, and when the log holds it twice (a re-proposal).
func TestReplayRefusedEverywhere(t *testing.T) {
	log := &sharedLog{}
	clock := newFakeClock()
	open := replicaOpener(t, log, clock.Now)
	a, b := open(0), open(1)
	log.replicas = []*Engine{a, b}
	defer func() { a.Close(); b.Close() }()
	if _, err := a.CreateQueue(context.Background(), "ns", "q", DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	exp := clock.Now().Unix() + 301
	k := ReplayKey{Hash: 0xfeed, Expiry: exp}
	if err := sendKeyed(a, k, "once"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, sendKeyed(b, k, "once"), ErrReplayed)
	wantErr(t, sendKeyed(a, k, "once"), ErrReplayed)
	// Another request (another key) with the same content is fine.
	if err := sendKeyed(b, ReplayKey{Hash: 0xbeef, Expiry: exp}, "once"); err != nil {
		t.Fatal(err)
	}
	// The log holds the first send twice (raft committed a re-proposal): applied once.
	log.mu.Lock()
	var first Entry
	for _, en := range log.entries {
		if _, c, err := decodeProposal(en.Data); err == nil && c.Replay == k {
			first = en
		}
	}
	log.mu.Unlock()
	if err := log.Propose(context.Background(), first.Data); err != nil {
		t.Fatal(err)
	}
	counts := func(e *Engine) int64 {
		info, err := e.GetQueueAttributes(context.Background(), "ns", "q")
		if err != nil {
			t.Fatal(err)
		}
		return info.ActiveMsgNum
	}
	if ca, cb := counts(a), counts(b); ca != 2 || cb != 2 {
		t.Fatalf("messages %d and %d, want 2 (each request once)", ca, cb)
	}
	// b restarts from its checkpoint; the log re-delivers what it has.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = open(1)
	log.replicas[1] = b
	b.Apply(log.entries)
	wantErr(t, sendKeyed(b, k, "once"), ErrReplayed)
	// Once the key's Timestamp has left the window, the request is refused as too old.
	clock.Advance(302 * time.Second)
	wantErr(t, sendKeyed(b, k, "once"), ErrReplayTooOld)
	if ca, cb := counts(a), counts(b); ca != 2 || cb != 2 {
		t.Fatalf("messages %d and %d after refusals, want 2", ca, cb)
	}

	// Standalone: across a clean restart (the checkpoint) and a crash (the journal).
	h := newHarness(t)
	h.create("q", nil)
	k2 := ReplayKey{Hash: 7, Expiry: h.clock.Now().Unix() + 300}
	if err := sendKeyed(h.e, k2, "x"); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	wantErr(t, sendKeyed(h.e, k2, "x"), ErrReplayed)
	k3 := ReplayKey{Hash: 8, Expiry: k2.Expiry}
	if err := sendKeyed(h.e, k3, "y"); err != nil {
		t.Fatal(err)
	}
	h.crash(1)
	wantErr(t, sendKeyed(h.e, k3, "y"), ErrReplayed)
	if c := h.counts("q"); c[0] != 2 {
		t.Fatalf("counts %v, want 2 active", c)
	}
}

// TestReplayKeysTravelInSnapshots: a replica that catches up by snapshot refuses what the
// source refused.
func TestReplayKeysTravelInSnapshots(t *testing.T) {
	src := newHarness(t)
	src.create("q", nil)
	k := ReplayKey{Hash: 42, Expiry: src.clock.Now().Unix() + 300}
	if err := sendKeyed(src.e, k, "x"); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	index, err := src.e.WriteSnapshot(&stream)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := Open("/data", Options{FS: vfs.NewMem(), Now: src.clock.Now, Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.RestoreSnapshot(bytes.NewReader(stream.Bytes())); err != nil {
		t.Fatal(err)
	}
	// The replayed request, committed after the snapshot: applied as a refusal.
	dst.Apply([]Entry{{Index: index + 1, Data: encodeProposal(1, &Command{Type: CmdSend, Now: src.clock.Now().UnixMilli(),
		Namespace: "ns", Queue: "q", Bodies: [][]byte{[]byte("x")}, Replay: k})}})
	dst.mu.RLock()
	q := dst.sm.lookup("ns", "q")
	live := q.tail - q.head
	dst.mu.RUnlock()
	if live != 1 {
		t.Fatalf("%d messages after the replay, want 1", live)
	}
}

// BenchmarkReplayAdmit: the state machine's cost per signed command in steady state (keys
// expiring as fast as they come: 3,500 per second of command time and a 300 s window, so
// about a million keys, the default bound).
func BenchmarkReplayAdmit(b *testing.B) {
	s := newReplaySet(Limits{MaxReplayKeys: 1 << 22, MaxReplaySeconds: 172_800})
	const perSecond = 3_500
	now := int64(1_700_000_000_000)
	admit := func(i int) {
		ms := now + int64(i)*1000/perSecond
		s.sweep(ms / 1000)
		if err := s.admit(ReplayKey{Hash: uint64(i)*0x9e3779b97f4a7c15 | 1, Expiry: ms/1000 + 301}, ms); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 400*perSecond; i++ { // fill the window first
		admit(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		admit(400*perSecond + i)
	}
}
