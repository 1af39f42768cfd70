package vfs

import "path/filepath"

// WriteFileAtomic replaces dir/name with data so that a crash at any point leaves either
// the old content or the new one, never a mix or nothing: it writes a temporary file,
// syncs it, renames it over name and syncs the directory. A stale temporary file from an
// earlier crash is replaced.
func WriteFileAtomic(fs FS, dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	if err := fs.Remove(tmp); err != nil && !IsNotExist(err) {
		return err
	}
	f, err := fs.Create(tmp)
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
	if err := fs.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return fs.SyncDir(dir)
}
