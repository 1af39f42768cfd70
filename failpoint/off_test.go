//go:build !chaos

package failpoint

import (
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

func TestOffBuildDoesNothing(t *testing.T) {
	for _, name := range All {
		if err := Inject(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	fs := vfs.NewMem()
	if WrapFS(fs) != vfs.FS(fs) {
		t.Fatal("WrapFS changed the file system without the chaos tag")
	}
	if Enabled {
		t.Fatal("Enabled without the chaos tag")
	}
}
