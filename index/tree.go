package index

import "github.com/google/btree"

// degree is the B-tree degree of every tree in this package: nodes hold 31–63 items and
// up to 64 children. For the 8–24 byte items stored here a full node is 0.5–1.5 KB, so the
// per-node overhead (header, child pointers, slice slack) is spread over dozens of items,
// a tree of a million entries is only four levels deep (few cache misses per lookup), and
// in-node search and shifting stay within a few cache lines. It is the degree etcd's mvcc
// key index and google/btree's own benchmarks settle on; smaller degrees cost more memory
// per entry and more allocations, larger ones make every insert and delete shift more.
const degree = 32

// freeListSize is the capacity, in nodes, of each shared free list. Emptied and split-off
// nodes are parked there for the next tree of the same element type, so a queue that
// drains and refills reuses nodes another queue gave back instead of allocating. At
// degree 32 a parked node retains at most about 1.5 KB, so each list holds at most a few
// hundred KB.
const freeListSize = 256

// release returns the nodes of an emptied tree to its free list, so that an index that
// once held entries keeps only the tree header rather than an empty root node (whose
// item slice may have grown to a full node's capacity). Called after every deletion.
func release[T any](t *btree.BTreeG[T]) {
	if t.Len() == 0 {
		t.Clear(true)
	}
}
