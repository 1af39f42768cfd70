// Command cmqd is the opencmq server.
//
// The HTTP API is not built yet (see the README's status section); for now cmqd only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "cmqd: the CMQ HTTP API is not built yet; the storage (segment) and queue engine (engine) packages are usable as Go libraries")
	os.Exit(2)
}
