//go:build tools

// This file pins the design card's modules in go.mod until the packages that use them exist.
package main

import (
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/google/btree"
	_ "github.com/tidwall/wal"
	_ "github.com/valyala/fasthttp"
	_ "go.etcd.io/raft/v3"
)
