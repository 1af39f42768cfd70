package vfs

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
)

// WriteFileAtomic replaces dir/name with data so that a crash at any point leaves either
// the old content or the new one, never a mix or nothing: it writes a temporary file,
// syncs it, renames it over name and syncs the directory. A stale temporary file from an
// earlier crash is replaced.
func WriteFileAtomic(fs FS, dir, name string, data []byte) error {
	return WriteFileAtomicMode(fs, dir, name, data, 0o644)
}

// WriteFileAtomicMode is WriteFileAtomic creating the file with permission bits perm on a
// file system that has them (the os one; see CreateMode). The temporary file has perm
// from its creation, so a secret is never readable by others, not even for a moment.
func WriteFileAtomicMode(fsys FS, dir, name string, data []byte, perm fs.FileMode) error {
	tmp := filepath.Join(dir, name+".tmp")
	if err := fsys.Remove(tmp); err != nil && !IsNotExist(err) {
		return err
	}
	f, err := CreateMode(fsys, tmp, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return fsys.SyncDir(dir)
}

// CreateMode creates a new file like FS.Create, with permission bits perm if fsys has
// permissions (it implements CreateMode(name, perm)); the memory file system has none.
func CreateMode(fsys FS, name string, perm fs.FileMode) (File, error) {
	if m, ok := fsys.(interface {
		CreateMode(name string, perm fs.FileMode) (File, error)
	}); ok {
		return m.CreateMode(name, perm)
	}
	return fsys.Create(name)
}

// ReadFile returns the whole content of the file name.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(b)) {
		return nil, err
	}
	return b, nil
}

// MkdirAllSync creates dir and any missing parents like FS.MkdirAll, with permission bits
// perm on a file system that has them (it implements MkdirAllMode(dir, perm)), and makes
// every directory it created durable: it syncs the parent of each, top down. An existing
// dir costs one Stat.
func MkdirAllSync(fsys FS, dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, _, err := fsys.Stat(d); err == nil {
			break
		} else if !IsNotExist(err) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var err error
	if m, ok := fsys.(interface {
		MkdirAllMode(dir string, perm fs.FileMode) error
	}); ok {
		err = m.MkdirAllMode(dir, perm)
	} else {
		err = fsys.MkdirAll(dir)
	}
	if err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fsys.SyncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}
