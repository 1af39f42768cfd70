package raftlog_test

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/opencmq/opencmq/replication/raftlog"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Example shows the persistence calls of a RawNode's Ready loop, here for a single-node
// cluster (so there are no messages to send), and what a restart recovers.
func Example() {
	dir, err := os.MkdirTemp("", "raftlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := raftlog.Open(dir, raftlog.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: st,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256,
		Logger: &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := rn.Bootstrap([]raft.Peer{{ID: 1}}); err != nil {
		log.Fatal(err)
	}

	handleReady := func() error {
		for rn.HasReady() {
			rd := rn.Ready()
			// 1. Persist, in this order, before sending anything.
			if !raft.IsEmptySnap(rd.Snapshot) {
				// (install rd.Snapshot.Data in the application first)
				if err := st.ApplySnapshot(rd.Snapshot); err != nil {
					return err
				}
			}
			if err := st.Append(rd.Entries); err != nil {
				return err
			}
			if !raft.IsEmptyHardState(rd.HardState) {
				if err := st.SetHardState(rd.HardState); err != nil {
					return err
				}
			}
			if rd.MustSync {
				if err := st.Sync(); err != nil { // the entries count from here on
					return err
				}
			}
			// 2. Send rd.Messages (none in a single-node cluster).
			// 3. Apply the committed entries.
			for _, e := range rd.CommittedEntries {
				switch e.GetType() {
				case raftpb.EntryConfChange:
					var cc raftpb.ConfChange
					if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
						return err
					}
					if err := st.SetConfState(rn.ApplyConfChange(&cc)); err != nil {
						return err
					}
				case raftpb.EntryNormal:
					if len(e.GetData()) > 0 {
						fmt.Printf("applied %d: %s\n", e.GetIndex(), e.GetData())
					}
				}
			}
			rn.Advance(rd)
		}
		return nil
	}

	steps := []func() error{
		func() error { return nil },
		rn.Campaign,
		func() error { return rn.Propose([]byte("hello")) },
		func() error { return rn.Propose([]byte("world")) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			log.Fatal(err)
		}
		if err := handleReady(); err != nil {
			log.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		log.Fatal(err)
	}

	// A restart finds everything that was synced.
	st, err = raftlog.Open(dir, raftlog.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	hs, cs, _ := st.InitialState()
	last, _ := st.LastIndex()
	ents, _ := st.Entries(last, last+1, 1<<20)
	fmt.Printf("restart: last index %d (%q), term %d, commit %d, voters %v\n",
		last, ents[0].GetData(), hs.GetTerm(), hs.GetCommit(), cs.GetVoters())
	// Output:
	// applied 3: hello
	// applied 4: world
	// restart: last index 4 ("world"), term 2, commit 4, voters [1]
}
