package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// TestDeleteQueueCloseErrorLatches: the fsync of a deleted queue's log fails while it is
// closed. Its data is not needed any more, but the disk is failing: the engine stops
// (it used to ignore the error and carry on).
func TestDeleteQueueCloseErrorLatches(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	h.create("other", nil)
	h.send("q", "a")
	errDisk := errors.New("disk failed")
	h.fs.(*vfs.MemFS).InjectError(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasPrefix(path, "/data/queues/") {
			return errDisk
		}
		return nil
	})
	wantErr(t, h.e.DeleteQueue(h.ctx, "ns", "q"), ErrInternal)
	h.fs.(*vfs.MemFS).InjectError(nil)
	_, err := h.e.SendMessage(h.ctx, "ns", "other", []byte("b"), 0)
	wantErr(t, err, ErrInternal)
}
