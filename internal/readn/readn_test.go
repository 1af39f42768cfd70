package readn

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB: several steps
	got, err := Read(bytes.NewReader(data), make([]byte, 5, 10), len(data))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	got, err = Read(bytes.NewReader(data[:10]), nil, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("n=0: %q %v", got, err)
	}
	// A short stream: what arrived, and the error.
	got, err = Read(bytes.NewReader(data[:7]), nil, 100)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, data[:7]) {
		t.Fatalf("short: %q %v", got, err)
	}
}

// TestReadAllocatesWhatArrives: a stream that claims 1 GiB and sends 10 bytes costs one
// step, not the claim.
func TestReadAllocatesWhatArrives(t *testing.T) {
	allocs := testing.AllocsPerRun(5, func() {
		buf, _ := Read(bytes.NewReader([]byte("0123456789")), nil, 1<<30)
		if cap(buf) > Step {
			t.Fatalf("capacity %d for 10 bytes", cap(buf))
		}
	})
	if allocs > 3 {
		t.Fatalf("%v allocations", allocs)
	}
}
