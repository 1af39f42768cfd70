//go:build linux && (amd64 || arm64)

package benchmarks

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// freeBytes returns the bytes available to an unprivileged user on the file system
// holding dir, or -1 if it cannot tell.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// evictDir drops the page-cache pages of every file under dir: it fsyncs each file (only
// clean pages can be dropped) and then advises the kernel it will not need them
// (posix_fadvise POSIX_FADV_DONTNEED). Only these files are affected, nothing system-wide.
func evictDir(dir string) error {
	const fadvDontNeed = 4 // POSIX_FADV_DONTNEED on Linux
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return err
		}
		if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0); errno != 0 {
			return errno
		}
		return nil
	})
}
