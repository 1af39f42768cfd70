package segment_test

import (
	"fmt"
	"log"

	"github.com/opencmq/opencmq/segment"
	"github.com/opencmq/opencmq/segment/vfs"
)

func Example() {
	// On disk, leave Options.FS nil (vfs.Default). The example uses the in-memory file
	// system so that it leaves nothing behind.
	fs := vfs.NewMem()
	l, err := segment.Open("/var/lib/cmq/queue-1", segment.Options{FS: fs})
	if err != nil {
		log.Fatal(err)
	}

	const typeMessage = 1
	for _, msg := range []string{"hello", "durable", "world"} {
		if _, err := l.Append(typeMessage, []byte(msg)); err != nil {
			log.Fatal(err)
		}
	}
	// Acknowledge only once the records survive a crash. Concurrent callers share fsyncs.
	if err := l.WaitDurable(l.LastSeq()); err != nil {
		log.Fatal(err)
	}

	typ, data, err := l.Read(2, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read: seq 2, type %d, %q\n", typ, data)

	it := l.NewIterator(0) // from the first stored record
	for it.Next() {
		fmt.Printf("iterate: seq %d %q\n", it.Seq(), it.Data())
	}
	if err := it.Err(); err != nil {
		log.Fatal(err)
	}
	it.Close()

	if err := l.Close(); err != nil {
		log.Fatal(err)
	}

	// Reopening recovers the log from its files.
	l, err = segment.Open("/var/lib/cmq/queue-1", segment.Options{FS: fs})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	st := l.Stats()
	fmt.Printf("reopened: first %d, last %d, durable %d\n", st.FirstSeq, st.LastSeq, st.DurableSeq)
	// Output:
	// read: seq 2, type 1, "durable"
	// iterate: seq 1 "hello"
	// iterate: seq 2 "durable"
	// iterate: seq 3 "world"
	// reopened: first 1, last 3, durable 3
}
