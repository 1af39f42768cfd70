//go:build chaos

package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

func TestSetInjectClear(t *testing.T) {
	t.Cleanup(Reset)
	if err := Inject(RaftAfterSave); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var got []string
	Set(QueueDirRemove, func(detail string) error { got = append(got, detail); return boom })
	if err := InjectAt(QueueDirRemove, "/d/q1"); err != boom {
		t.Fatalf("InjectAt = %v", err)
	}
	if err := Inject(RaftAfterSave); err != nil {
		t.Fatalf("another point fired: %v", err)
	}
	Clear(QueueDirRemove)
	if err := InjectAt(QueueDirRemove, "/d/q2"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "/d/q1" {
		t.Fatalf("hits %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Set accepted an unknown name")
		}
	}()
	Set("raftAfterSav", nil)
}

func TestEnableSpec(t *testing.T) {
	t.Cleanup(Reset)
	if err := Enable("segmentBeforeFsync=2*error, raftBeforeSave=0%panic"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false, false} {
		err := InjectAt(SegmentBeforeFsync, "f.seg")
		if got := errors.Is(err, ErrInjected); got != want {
			t.Fatalf("hit %d: %v", i, err)
		}
	}
	for i := 0; i < 100; i++ {
		if err := Inject(RaftBeforeSave); err != nil { // 0%: never fires (it would panic)
			t.Fatal(err)
		}
	}
	if err := Enable("segmentBeforeFsync=off"); err != nil {
		t.Fatal(err)
	}
	if err := Enable("raftAfterSave=sleep(1)"); err != nil {
		t.Fatal(err)
	}
	if err := Inject(RaftAfterSave); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"nope=panic", "raftAfterSave", "raftAfterSave=explode", "raftAfterSave=101%panic",
		"raftAfterSave=x*panic", "raftAfterSave=sleep(x)", "raftAfterSave=panic(1)", "raftAfterSave=sleep(1"} {
		if err := Enable(bad); err == nil {
			t.Errorf("Enable(%q) accepted", bad)
		}
	}
}

func TestWrapFSHooksSegmentFiles(t *testing.T) {
	t.Cleanup(Reset)
	var hits []string
	for _, name := range []string{SegmentCreate, SegmentBeforeFsync, SegmentAfterFsync} {
		Set(name, func(detail string) error { hits = append(hits, name+" "+detail); return nil })
	}
	fs := WrapFS(vfs.NewMem())
	if WrapFS(fs) != fs {
		t.Fatal("wrapped twice")
	}
	if err := fs.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	other, err := fs.Create("/d/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	other.Sync()
	f, err := fs.Create("/d/1.seg")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, _ = fs.OpenRW("/d/1.seg")
	f.Sync()
	want := "segmentCreate /d/1.seg|segmentBeforeFsync /d/1.seg|segmentAfterFsync /d/1.seg|segmentBeforeFsync /d/1.seg|segmentAfterFsync /d/1.seg"
	if got := strings.Join(hits, "|"); got != want {
		t.Fatalf("hits\n%s\nwant\n%s", got, want)
	}
	// An error before the fsync fails it without syncing.
	mem := vfs.NewMem()
	fs = WrapFS(mem)
	fs.MkdirAll("/d")
	f, _ = fs.Create("/d/2.seg")
	f.Write([]byte("abc"))
	Set(SegmentBeforeFsync, func(string) error { return ErrInjected })
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Sync = %v", err)
	}
	if n, _ := mem.SyncedSize("/d/2.seg"); n != 0 {
		t.Fatalf("synced %d bytes despite the failpoint", n)
	}
}

// TestExitAction runs this test binary again with CMQ_FAILPOINTS set to exit at a point,
// and checks that the process stops there with ExitCode.
func TestExitAction(t *testing.T) {
	if os.Getenv("FAILPOINT_CHILD") == "1" {
		Inject(RaftBeforeSave) // armed by CMQ_FAILPOINTS in init
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExitAction$")
	cmd.Env = append(os.Environ(), "FAILPOINT_CHILD=1", "CMQ_FAILPOINTS=raftBeforeSave=exit")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitCode {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "failpoint raftBeforeSave: exit") {
		t.Fatalf("child output: %s", out)
	}
}
