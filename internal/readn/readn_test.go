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
// step of buffer, not the claim.
func TestReadAllocatesWhatArrives(t *testing.T) {
	buf, err := Read(bytes.NewReader([]byte("0123456789")), nil, 1<<30)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(buf) != 10 || cap(buf) > Step {
		t.Fatalf("%d bytes in a buffer of %d, err %v", len(buf), cap(buf), err)
	}
}
