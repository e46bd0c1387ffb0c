package persistence

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockName is the lock file of a log directory. It is created on first use
// and never deleted: deleting a lock file races with a process that just
// opened it.
const lockName = "LOCK"

// Locker is implemented by an FS that can take an exclusive lock on a file
// (OSFS: flock(2)). Open in a writable mode and Repair take the lock on
// "<dir>/LOCK" through it. An FS that does not implement Locker (an
// in-memory FS private to one test) gets no lock.
type Locker interface {
	// Lock takes an exclusive, non-blocking lock on the file name, creating
	// it if needed, and returns the handle that holds it; closing the handle
	// releases the lock. If another handle holds the lock, in this process
	// or another, Lock fails at once with an error wrapping ErrLocked.
	Lock(name string) (io.Closer, error)
}

// Lock implements Locker with flock(LOCK_EX|LOCK_NB). The lock belongs to
// the open file description, so a second Lock of the same file fails even
// within one process, and the kernel releases it when the holder exits or
// is killed. The holder's process id is written into the file for the
// error message of the next contender; it is informative only.
func (OSFS) Lock(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		holder := ""
		if b, rerr := os.ReadFile(name); rerr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " (held by pid " + pid + ")"
			}
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w%s", ErrLocked, holder)
		}
		return nil, fmt.Errorf("flock %s: %w", name, err)
	}
	// Write the pid only if it changed, so that reopening in one process
	// leaves the file untouched.
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	cur := make([]byte, len(pid)+1)
	if n, _ := f.ReadAt(cur, 0); n != len(pid) || string(cur[:n]) != string(pid) {
		if err := f.Truncate(0); err == nil {
			f.WriteAt(pid, 0)
		}
	}
	return f, nil
}

// lockDir takes the exclusive lock of the log directory dir, or returns
// nil (no lock) if fsys cannot lock. The error names the directory.
func lockDir(fsys FS, dir string) (io.Closer, error) {
	lk, ok := fsys.(Locker)
	if !ok {
		return nil, nil
	}
	c, err := lk.Lock(filepath.Join(dir, lockName))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			// err reads "persistence: log directory is locked (held by pid N)".
			return nil, fmt.Errorf("%w: %s: another Log (in this or another process) has it open for writing; close it first", err, dir)
		}
		return nil, fmt.Errorf("persistence: lock log directory %s: %w", dir, err)
	}
	return c, nil
}
