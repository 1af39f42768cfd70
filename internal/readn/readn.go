// Package readn reads length-prefixed data from untrusted streams without trusting the
// length: a peer that announces a huge frame and then sends nothing costs no more memory
// than it actually sent (plus one step).
package readn

import (
	"io"
	"slices"
)

// Step bounds how far Read allocates ahead of the bytes that actually arrived.
const Step = 1 << 20

// Read reads exactly n bytes from r into buf's storage (reusing its capacity) and returns
// them. It grows the buffer as bytes arrive, never by more than Step ahead of them. On a
// short stream it returns what arrived and the error of io.ReadFull.
func Read(r io.Reader, buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), Step)
		buf = slices.Grow(buf, step)
		k, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
