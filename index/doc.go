// Package index holds the in-memory ordered indexes of the queue engine.
//
// The engine keeps each queue's messages in an append-only log with dense sequence
// numbers. Messages simply waiting in order cost no memory; only what is out of order is
// indexed here:
//
//   - [Deadlines]: in-flight messages by visibility deadline, delayed messages by due
//     time, queues by next deadline;
//   - [SeqSet]: messages returned for redelivery, by seq;
//   - [Map]: per-message delivery metadata, by seq;
//   - [RangeSet]: seqs deleted out of order above a queue's head, as intervals;
//   - [TimeIndex]: a sparse enqueue-time → seq index, for rewind and retention.
//
// An engine may hold tens of thousands of queues, most of them empty, so the zero value
// of every type is an empty index ready to use that allocates nothing until its first
// insert: an empty queue pays only for the index headers inside its own struct. Once
// emptied again, a tree-based index gives its nodes back and keeps a tree header of
// about 64 bytes.
//
// The tree-based types are B-trees (github.com/google/btree) of degree 32 whose nodes
// come from free lists shared by all trees of the same element type, so a queue that
// refills reuses nodes another queue released.
//
// None of the types is safe for concurrent use; the engine serialises access to each
// queue. Distinct indexes may be used from distinct goroutines: the shared free lists
// are locked internally.
//
// # Cost
//
// Zero values, and reads and deletions on them, allocate nothing (TestZeroValuesAllocateNothing);
// reads on populated indexes allocate nothing either (TestReadsAllocateNothing). In place,
// Deadlines, SeqSet and Map are one word, RangeSet two and TimeIndex seven.
//
// Heap bytes per entry, measured by TestBytesPerEntry and the benchmarks (1<<18 entries,
// amd64). B-tree nodes are between half and completely full, so an entry costs about
// 1.5× its item size under random inserts and 2.2× under in-order ones:
//
//	Deadlines, random deadlines    25  (16-byte items)
//	Deadlines, increasing          36  (in-order inserts leave split nodes half full)
//	SeqSet, random                 13  (8-byte items)
//	Map[uint64], random            25  (16-byte (seq, V) items)
//	RangeSet, per interval         25  (a contiguous run of any length is one interval)
//	TimeIndex, per message       0.07  (one 16-byte entry per 256 messages)
//
// Time per operation, with n entries (intervals for RangeSet), k the entries removed or
// visited:
//
//	Deadlines   Add, Remove, Min: O(log n); Len: O(1); PopDue: O((k+1) log n);
//	            CountDue: O(log n + k); RemoveSeqRange: O(n + k log n)
//	SeqSet      Add, Remove, Has, Min: O(log n); AscendFrom: O(log n + k);
//	            DeleteBelow, DeleteFrom: O((k+1) log n)
//	Map         Get, Set, Delete, Min: O(log n); AscendFrom: O(log n + k);
//	            DeleteBelow, DeleteFrom: O((k+1) log n)
//	RangeSet    Add, Remove, Contains, NextAbsent, Min: O(log n); Count, Len: O(1);
//	            AddRange, DeleteBelow, DeleteFrom: O((k+1) log n); CountRange: O(log n + k)
//	TimeIndex   Add, Last, Len: O(1) amortised; Lookup, TrimBelow: O(log n) (TrimBelow's
//	            compaction is amortised O(1) per dropped entry); Entries, Restore: O(n)
//
// Clone is O(1) for every type. The B-trees then copy each shared node the first time
// either side writes to it; a cloned TimeIndex shares its entry array, which neither side
// modifies in place.
package index
