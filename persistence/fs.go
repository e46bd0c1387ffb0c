package persistence

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"sort"

	"golang.org/x/sys/unix"
)

// FS is the file-system seam. Every file operation of the package goes
// through it, so tests can inject a failing fdatasync or stop a rotation
// between two steps. OSFS is the implementation used by default.
type FS interface {
	// OpenFile opens a file like os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Rename renames a file like os.Rename.
	Rename(oldpath, newpath string) error
	// Remove removes a file like os.Remove.
	Remove(name string) error
	// ReadDir returns the sorted names of the entries of a directory.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates a directory and its parents like os.MkdirAll.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir fsyncs a directory so that creates, renames and removes in it
	// are durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Size returns the file's current size.
	Size() (int64, error)
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Allocate makes the file at least size bytes long, reserving the blocks
	// (fallocate) where the file system allows it; the new bytes read as zero.
	Allocate(size int64) error
	// Sync flushes data and metadata (fsync).
	Sync() error
	// Datasync flushes data and the metadata needed to read it (fdatasync).
	Datasync() error
}

// OSFS is the FS of the operating system.
type OSFS struct{}

type osFile struct {
	f  *os.File
	fd int
}

// OpenFile implements FS.
func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, fd: int(f.Fd())}, nil
}

// Rename implements FS.
func (OSFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// ReadDir implements FS.
func (OSFS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *osFile) ReadAt(p []byte, off int64) (int, error)  { return f.f.ReadAt(p, off) }
func (f *osFile) WriteAt(p []byte, off int64) (int, error) { return f.f.WriteAt(p, off) }
func (f *osFile) Close() error                             { return f.f.Close() }
func (f *osFile) Truncate(size int64) error                { return f.f.Truncate(size) }
func (f *osFile) Sync() error                              { return f.f.Sync() }

func (f *osFile) Size() (int64, error) {
	st, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f *osFile) Datasync() error {
	for {
		err := unix.Fdatasync(f.fd)
		if err != unix.EINTR {
			return err
		}
	}
}

// Allocate reserves blocks with fallocate(2) and falls back to ftruncate(2)
// where the file system does not support it.
func (f *osFile) Allocate(size int64) error {
	cur, err := f.Size()
	if err != nil {
		return err
	}
	if cur >= size {
		return nil
	}
	for {
		err = unix.Fallocate(f.fd, 0, 0, size)
		if err != unix.EINTR {
			break
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) {
		return f.f.Truncate(size)
	}
	return err
}

// mapper is implemented by files that can be memory-mapped read-only.
type mapper interface {
	mmap(size int64) ([]byte, error)
}

func (f *osFile) mmap(size int64) ([]byte, error) {
	return unix.Mmap(f.fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
}

// segmentBytes returns up to limit bytes (limit < 0: all) of f for reading:
// memory-mapped when f supports it (release unmaps it), else read into buf.
// Mapped bytes are valid until release; the log never shrinks a file below
// what a reader mapped (rotation truncates only past the acknowledged end).
func segmentBytes(f File, buf []byte, limit int64) (data, newBuf []byte, release func(), err error) {
	if m, ok := f.(mapper); ok {
		size, err := f.Size()
		if err != nil {
			return nil, buf, nil, err
		}
		if limit >= 0 && size > limit {
			size = limit
		}
		if size > 0 {
			if b, err := m.mmap(size); err == nil {
				return b, buf, func() { unix.Munmap(b) }, nil
			}
		}
	}
	buf, err = readWhole(f, buf, limit)
	return buf, buf, func() {}, err
}

// Faults on a shrinking mapping: a reader that takes no lock (NewReader, Validate,
// ValidateEach, read-only Open) maps segments that a live writer may shrink
// while they are read: rotation truncates the active segment's
// preallocated tail, a failed write cuts unacknowledged bytes, Repair cuts
// damage. Touching a mapped page past the new end of the file raises
// SIGBUS, which would kill the reading process. Those readers therefore
// run their scans under guardMapped, which turns the fault into an error.

// shrunkErr is the error of a mapped segment that shrank while read.
func shrunkErr(seg string, fault any) error {
	return fmt.Errorf("persistence: segment %s shrank while it was read (the log is being written or repaired by another Log); read it again: %v", seg, fault)
}

// isMemoryFault reports whether a recovered panic value is a memory fault
// turned into a panic by debug.SetPanicOnFault.
func isMemoryFault(r any) bool {
	_, ok := r.(interface{ Addr() uintptr })
	return ok
}

// guardMapped runs fn, which reads memory-mapped segment seg, and returns
// shrunkErr if fn faulted on it.
func guardMapped(seg string, fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if !isMemoryFault(r) {
				panic(r)
			}
			err = shrunkErr(seg, r)
		}
	}()
	fn()
	return nil
}
