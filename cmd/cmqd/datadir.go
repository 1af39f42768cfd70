package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencmq/opencmq/httpapi"
	"github.com/opencmq/opencmq/segment/vfs"
)

// Data directory layout (see docs/USAGE-draft.md). Every file is written through the vfs
// package except LOCK, which exists for its flock (a lock on a real descriptor, released
// by the kernel when the process dies) and holds nothing that must survive a crash:
//
//	<data>/LOCK           exclusive flock held by the running cmqd; holds its pid
//	<data>/accounts.json  the generated account (mode 0600), unless --accounts is given
//	<data>/engine/        the queue engine: journal/, checkpoint, queues/<id>/
const (
	lockFileName     = "LOCK"
	accountsFileName = "accounts.json"
	engineDirName    = "engine"
)

// errDirInUse is returned by lockDataDir when another process holds the lock.
type errDirInUse struct {
	dir string
	pid int // 0 if unknown
}

func (e *errDirInUse) Error() string {
	pid := "pid unknown"
	if e.pid > 0 {
		pid = "pid " + strconv.Itoa(e.pid)
	}
	return fmt.Sprintf("data directory %s is in use by another cmqd (%s)", e.dir, pid)
}

// dirLock is the held lock of a data directory.
type dirLock struct{ f *os.File }

// lockDataDir takes an exclusive, non-blocking flock on <dir>/LOCK and writes our pid into
// it. The lock lives as long as the process (or until release); the kernel drops it when the
// process dies, so a crash never leaves a stale lock behind.
func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EAGAIN) {
			pid := 0
			if b, rerr := os.ReadFile(path); rerr == nil {
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			return nil, &errDirInUse{dir: dir, pid: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("writing pid to %s: %w", path, err)
		}
	}
	return &dirLock{f: f}, nil
}

// release clears the pid and drops the lock.
func (l *dirLock) release() error {
	_ = l.f.Truncate(0)
	return l.f.Close() // closing the descriptor releases the flock
}

// alnum are the characters of generated credentials.
const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n random alphanumerics from crypto/rand (no modulo bias).
func randomAlnum(n int) (string, error) {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < 256-256%len(alnum) && len(out) < n {
				out = append(out, alnum[int(b)%len(alnum)])
			}
		}
	}
	return string(out), nil
}

// newAccount generates the first-start account: namespace "default", SecretId "AKID" + 32
// alphanumerics, SecretKey 32 alphanumerics.
func newAccount() (httpapi.Account, error) {
	id, err := randomAlnum(32)
	if err != nil {
		return httpapi.Account{}, err
	}
	key, err := randomAlnum(32)
	if err != nil {
		return httpapi.Account{}, err
	}
	return httpapi.Account{Namespace: "default", SecretID: "AKID" + id, SecretKey: key}, nil
}

// writeFileAtomic writes data to path so that path holds either its old content or all of
// data, even across a crash (vfs.WriteFileAtomicMode: temp file created with perm, fsync,
// rename, fsync of the directory).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return vfs.WriteFileAtomicMode(vfs.Default, filepath.Dir(path), filepath.Base(path), data, perm)
}

// accountSource says where the accounts came from.
type accountSource int

const (
	accountsFromFlag    accountSource = iota // --accounts FILE
	accountsFromDataDir                      // <data>/accounts.json of an earlier start
	accountsCreated                          // generated now
)

// loadOrCreateAccounts returns the accounts: from flagPath if given, else from
// <data>/accounts.json, else a new account saved there.
func loadOrCreateAccounts(flagPath, dataDir string) ([]httpapi.Account, accountSource, string, error) {
	if flagPath != "" {
		accs, err := httpapi.LoadAccounts(flagPath)
		return accs, accountsFromFlag, flagPath, err
	}
	path := filepath.Join(dataDir, accountsFileName)
	if _, err := os.Stat(path); err == nil {
		accs, err := httpapi.LoadAccounts(path)
		return accs, accountsFromDataDir, path, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, 0, path, err
	}
	acc, err := newAccount()
	if err != nil {
		return nil, 0, path, fmt.Errorf("generating an account: %w", err)
	}
	accs := []httpapi.Account{acc}
	data, err := json.MarshalIndent(accs, "", "  ")
	if err != nil {
		return nil, 0, path, err
	}
	if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return nil, 0, path, fmt.Errorf("saving the generated account to %s: %w", path, err)
	}
	return accs, accountsCreated, path, nil
}
