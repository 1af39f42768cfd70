package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

func TestJoinProposalsRoundTrip(t *testing.T) {
	for _, props := range [][][]byte{
		{[]byte{proposalVersion, 1, 2}},
		{[]byte{proposalVersion, 1}, []byte{proposalVersion, 2, 3, 4}, {}},
		{bytes.Repeat([]byte{7}, 300), []byte{proposalBatchVersion}},
	} {
		got, err := splitProposals(JoinProposals(props))
		if err != nil {
			t.Fatalf("split(join(%q)): %v", props, err)
		}
		if len(got) != len(props) {
			t.Fatalf("split(join(%q)) = %q", props, got)
		}
		for i := range props {
			if !bytes.Equal(got[i], props[i]) {
				t.Fatalf("proposal %d: got %q, want %q", i, got[i], props[i])
			}
		}
	}
	// A plain proposal is its own single proposal.
	plain := []byte{proposalVersion, 9, 9}
	if got, err := splitProposals(plain); err != nil || len(got) != 1 || !bytes.Equal(got[0], plain) {
		t.Fatalf("split(plain) = %q, %v", got, err)
	}
}

func TestSplitProposalsRefusesDamage(t *testing.T) {
	good := JoinProposals([][]byte{[]byte("abc"), []byte("de")})
	for name, b := range map[string][]byte{
		"no count":       {proposalBatchVersion},
		"zero count":     {proposalBatchVersion, 0},
		"huge count":     {proposalBatchVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(append([]byte(nil), good...), 1),
		"length too big": {proposalBatchVersion, 1, 0x7f, 'x'},
	} {
		if _, err := splitProposals(b); err == nil {
			t.Errorf("%s: split(%x) accepted", name, b)
		}
	}
}

// TestJoinedProposalsApplyLikeSeparateEntries applies one random command log to two replicas:
// one gets an entry per command, the other the same commands joined into entries of random
// sizes (each numbered like the last command it holds). Their states must be identical, and
// every waiting caller must get the result of its own command.
func TestJoinedProposalsApplyLikeSeparateEntries(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			// No checkpoints: when a replica's background checkpoint lands (and drops what it
			// covers) is up to that replica, and would show in the digest's physical fields.
			open := func() *Engine {
				e, err := Open("/data", Options{FS: vfs.NewMem(), Limits: testLimits, ManualTick: true,
					Replicator: replicaView{&sharedLog{}, false}, CheckpointBytes: 1 << 40})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Close() })
				return e
			}
			single, joined := open(), open()
			r := rand.New(rand.NewPCG(seed, 11))
			g := &commandGen{r: r, now: 1_700_000_000_000}
			const n = 600
			var group [][]byte
			var waits []chan result
			var wantTypes []CommandType
			for i := uint64(1); i <= n; i++ {
				c := g.next()
				prop := encodeProposal(i, c)
				single.Apply([]Entry{{Index: i, Data: prop}})
				// The joined replica has a caller waiting for every command, registered the
				// way propose registers them.
				done := make(chan result, 1)
				joined.pendingMu.Lock()
				joined.pending[i] = &proposal{cmd: c, want: true, done: done}
				joined.pendingMu.Unlock()
				group = append(group, prop)
				waits = append(waits, done)
				wantTypes = append(wantTypes, c.Type)
				if i == n || r.IntN(4) == 0 {
					data := group[0]
					if len(group) > 1 {
						data = JoinProposals(group)
					}
					joined.Apply([]Entry{{Index: i, Data: data}})
					for k, w := range waits {
						select {
						case res := <-w:
							g.observe(res)
						default:
							t.Fatalf("command %d (%v) of a joined entry got no result", int(i)-len(waits)+k+1, wantTypes[k])
						}
					}
					group, waits, wantTypes = group[:0], waits[:0], wantTypes[:0]
				}
			}
			single.mu.RLock()
			ds := single.sm.digest(t)
			single.mu.RUnlock()
			joined.mu.RLock()
			dj := joined.sm.digest(t)
			joined.mu.RUnlock()
			if ds != dj {
				t.Fatalf("states differ: one entry per command %x, joined entries %x", ds, dj)
			}
			if a, b := single.AppliedIndex(), joined.AppliedIndex(); a != n || b != n {
				t.Fatalf("applied index %d and %d, want %d", a, b, n)
			}
		})
	}
}

// FuzzSplitProposals: any entry data either splits into proposals that re-join to the same
// bytes, or is refused; never a panic or an allocation driven by a claimed count.
func FuzzSplitProposals(f *testing.F) {
	f.Add(JoinProposals([][]byte{[]byte("a"), []byte("bc")}))
	f.Add([]byte{proposalBatchVersion, 3, 0, 0, 0})
	f.Add([]byte{proposalVersion, 1})
	f.Add([]byte{proposalBatchVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := splitProposals(data)
		if err != nil {
			return
		}
		if len(data) > 0 && data[0] == proposalBatchVersion {
			// Non-minimal varints split fine but re-join shorter; otherwise the bytes match.
			if again := JoinProposals(props); len(again) == len(data) && !bytes.Equal(again, data) {
				t.Fatalf("join(split(%x)) = %x", data, again)
			}
		} else if len(props) != 1 || !bytes.Equal(props[0], data) {
			t.Fatalf("split(%x) = %q", data, props)
		}
		for _, p := range props {
			decodeProposal(p) // must not panic
		}
	})
}
