package persistence

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// errCrash is what every mutating operation returns once faultFS has
// "crashed": from then on nothing more reaches the disk, as if the process
// had died at that step.
var errCrash = errors.New("faultfs: crashed")

// faultFS wraps the OS file system, numbering every mutating operation
// (create, write, truncate, allocate, fsync, fdatasync, rename, remove,
// directory fsync) so a test can crash at any step or fail one fdatasync.
type faultFS struct {
	OSFS
	mu           sync.Mutex
	steps        int
	crashAt      int // > 0: the step at which the crash happens
	failDatasync int // > 0: the n-th fdatasync from now fails with EIO
	ops          []string
	writes       [][2]int64 // offset and length of every WriteAt
}

func (f *faultFS) step(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps++
	f.ops = append(f.ops, op)
	if f.crashAt > 0 && f.steps >= f.crashAt {
		return errCrash
	}
	if op == "datasync" && f.failDatasync > 0 {
		f.failDatasync--
		if f.failDatasync == 0 {
			return syscall.EIO
		}
	}
	return nil
}

func (f *faultFS) Steps() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.steps
}

func (f *faultFS) CrashAfter(n int) {
	f.mu.Lock()
	f.crashAt = f.steps + n
	f.mu.Unlock()
}

func (f *faultFS) FailNthDatasync(n int) {
	f.mu.Lock()
	f.failDatasync = n
	f.mu.Unlock()
}

func (f *faultFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	if flag&os.O_CREATE != 0 {
		if err := f.step("create"); err != nil {
			return nil, err
		}
	}
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Rename(o, n string) error {
	if err := f.step("rename"); err != nil {
		return err
	}
	return f.OSFS.Rename(o, n)
}

func (f *faultFS) Remove(name string) error {
	if err := f.step("remove"); err != nil {
		return err
	}
	return f.OSFS.Remove(name)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.step("syncdir"); err != nil {
		return err
	}
	return f.OSFS.SyncDir(dir)
}

type faultFile struct {
	File
	fs *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.step("write"); err != nil {
		return 0, err
	}
	f.fs.mu.Lock()
	f.fs.writes = append(f.fs.writes, [2]int64{off, int64(len(p))})
	f.fs.mu.Unlock()
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Truncate(n int64) error {
	if err := f.fs.step("truncate"); err != nil {
		return err
	}
	return f.File.Truncate(n)
}

func (f *faultFile) Allocate(n int64) error {
	if err := f.fs.step("allocate"); err != nil {
		return err
	}
	return f.File.Allocate(n)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step("sync"); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Datasync() error {
	if err := f.fs.step("datasync"); err != nil {
		return err
	}
	return f.File.Datasync()
}
