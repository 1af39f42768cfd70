package main

// Data directories on loop-mounted ext4 file systems, and the disk-full fault on them. The
// outer process makes and mounts them (mounts made inside `ip netns exec` would be private
// to the inner process's mount namespace); the inner process fills and frees them.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// diskBytes is the size of each node's file system (a sparse file: it takes only what is
// written).
const diskBytes = 1 << 30

// ballastName is the file that fills a node's file system during a disk-full fault.
const ballastName = "ballast"

// ballastSlack is how much free space a disk-full fault leaves: a few writes' worth, so
// that the node runs out in the middle of its work rather than before it.
const ballastSlack = 256 << 10

// mountDisk makes an ext4 file system in img (created sparse) and loop-mounts it on dir.
// -m 0: no blocks reserved for root, which would otherwise let cmqd (root) write into them.
func mountDisk(img, dir string) error {
	for _, d := range []string{dir, filepath.Dir(img)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	err = f.Truncate(diskBytes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := run(time.Minute, "mkfs.ext4", "-q", "-m", "0", "-F", img); err != nil {
		return err
	}
	// -o loop attaches a loop device with autoclear: unmounting detaches it.
	return run(time.Minute, "mount", "-o", "loop", img, dir)
}

// unmountDisk unmounts dir, retrying while the last node process lets go of it, and
// detaching lazily as a last resort.
func unmountDisk(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = run(10*time.Second, "umount", dir); err == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	if lerr := run(10*time.Second, "umount", "-l", dir); lerr != nil {
		return errors.Join(err, lerr)
	}
	return nil
}

// fillDisk fills the file system of dir, leaving ballastSlack bytes free, with one
// allocated (not sparse) file. It returns the ballast's size.
func fillDisk(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	size := int64(st.Bavail)*st.Bsize - ballastSlack
	if size <= 0 {
		return 0, nil
	}
	f, err := os.OpenFile(filepath.Join(dir, ballastName), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return 0, fmt.Errorf("fallocate %d bytes in %s: %w", size, dir, err)
	}
	return size, nil
}

// freeDisk removes the ballast.
func freeDisk(dir string) error {
	err := os.Remove(filepath.Join(dir, ballastName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
