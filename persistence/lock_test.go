package persistence

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const lockChildEnv = "PERSISTENCE_LOCK_CHILD_DIR"

// lockChild opens the log in dir for writing, appends one record, reports
// "locked <pid>" and holds the log open until its stdin closes or it is
// killed.
func lockChild(dir string) {
	l, err := Open(dir, checkOpts)
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(3)
	}
	if _, err := l.Append(testTxn(l.LastLSN() + 1)); err != nil {
		fmt.Println("append failed:", err)
		os.Exit(4)
	}
	fmt.Printf("locked %d\n", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	l.Close()
}

// openFailsFastWithErrLocked opens dir in mode and checks that it fails at
// once with ErrLocked naming the directory.
func openFailsFastWithErrLocked(t *testing.T, dir string, mode RecoveryMode) error {
	t.Helper()
	start := time.Now()
	l, err := Open(dir, Options{Recovery: mode, Check: testCheck})
	if err == nil {
		l.Close()
		t.Fatalf("%s Open of a locked directory succeeded", mode)
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("%s Open of a locked directory: %v, want ErrLocked naming %s", mode, err, dir)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%s Open of a locked directory took %s; it must not wait", mode, d)
	}
	return err
}

// TestSecondOpenOfALockedDirectoryFailsFast recreates two Logs of one
// process appending to one directory (which would interleave LSNs and
// overwrite each other's frames): the second writable Open must fail at
// once with ErrLocked, as must Repair, while read-only Open, Validate,
// ValidateEach and NewReader work; after Close the directory opens again.
func TestSecondOpenOfALockedDirectoryFailsFast(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 3)
	openFailsFastWithErrLocked(t, dir, RecoverTruncateTail)
	openFailsFastWithErrLocked(t, dir, RecoverStrict)
	if _, err := Repair(dir, checkOpts); !errors.Is(err, ErrLocked) {
		t.Fatalf("Repair of a locked directory: %v, want ErrLocked", err)
	}
	ro := mustOpen(t, dir, Options{Recovery: RecoverReadOnly})
	checkContiguous(t, readAll(t, ro), 1, 3)
	ro.Close()
	if rep, err := Validate(dir, checkOpts); err != nil || !rep.OK() || rep.Records != 3 {
		t.Fatalf("Validate of a locked log: %v %+v", err, rep)
	}
	var seen []uint64
	if rep, err := ValidateEach(dir, func(r Record) error {
		checkTxn(t, r.Payload, r.LSN)
		seen = append(seen, r.LSN)
		return nil
	}, checkOpts); err != nil || !rep.OK() || rep.Records != 3 {
		t.Fatalf("ValidateEach of a locked log: %v %+v", err, rep)
	}
	checkContiguous(t, seen, 1, 3)
	r, err := NewReader(dir, 0, checkOpts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		n++
	}
	r.Close()
	if r.Err() != nil || n != 3 {
		t.Fatalf("NewReader of a locked log: %d records, %v", n, r.Err())
	}
	appendN(t, l, 1) // the holder is unaffected
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkContiguous(t, readAll(t, l), 1, 4)
}

// TestFailedOpenReleasesTheLock: an Open that fails after taking the lock
// (here on mid-log corruption) must release it, or the operator's Repair
// and every later Open would be locked out until the process exits.
func TestFailedOpenReleasesTheLock(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	appendN(t, l, 5)
	l.Close()
	seg := segFiles(t, dir)[0]
	offs, _ := frameOffsets(t, seg)
	flipByte(t, seg, offs[1]+20)
	if _, err := Open(dir, checkOpts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a corrupt log: %v", err)
	}
	if _, err := Repair(dir, checkOpts); err != nil {
		t.Fatalf("Repair after a failed Open: %v", err)
	}
	l = mustOpen(t, dir, Options{})
	l.Close()
}

// TestOpenLockedByAnotherProcessFailsFast: a child process holds the log
// open for writing. The parent's writable Open and Repair fail at once
// with ErrLocked naming the directory and the child's pid; read-only
// access works. Once the child is killed (no Close), the kernel has
// released the lock and the directory opens normally: a stale LOCK file
// never blocks.
func TestOpenLockedByAnotherProcessFailsFast(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "locked ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q %v", line, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "locked ")))
	err = openFailsFastWithErrLocked(t, dir, RecoverTruncateTail)
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(pid)) {
		t.Errorf("ErrLocked does not name the holder pid %d: %v", pid, err)
	}
	t.Logf("error seen by the second process: %v", err)
	if _, err := Repair(dir, checkOpts); !errors.Is(err, ErrLocked) {
		t.Fatalf("Repair while another process holds the log: %v", err)
	}
	ro := mustOpen(t, dir, Options{Recovery: RecoverReadOnly})
	checkContiguous(t, readAll(t, ro), 1, 1)
	ro.Close()

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	l := mustOpen(t, dir, Options{})
	defer l.Close()
	appendN(t, l, 1)
	checkContiguous(t, readAll(t, l), 1, 2)
}

// TestReaderOfALiveLogSurvivesRotation recreates `interstice log validate`
// run against a directory a runtime is writing: the Reader (no lock) maps
// the active segment, then the writer's rotation truncates its
// preallocated tail under the mapping. Touching it raised SIGBUS and
// killed the reading process; now Next stops with an error that says so.
func TestReaderOfALiveLogSurvivesRotation(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 1 << 20})
	defer l.Close()
	appendN(t, l, 3)
	r, err := NewReader(dir, 0, checkOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	if err := l.Rotate(); err != nil { // truncates the mapped segment to its last frame
		t.Fatal(err)
	}
	n := 1
	for r.Next() {
		n++
	}
	if err := r.Err(); err != nil && !strings.Contains(err.Error(), "shrank while it was read") {
		t.Fatalf("Reader after the segment shrank: %v", err)
	}
	t.Logf("%d records, then %v", n, r.Err())
}

// TestGuardedScanOfAShrunkMappingReturnsAnError covers the guard used by
// Validate, ValidateEach and read-only Open on the same fault.
func TestGuardedScanOfAShrunkMappingReturnsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg")
	os.WriteFile(path, make([]byte, 1<<20), 0o644)
	f, err := OSFS{}.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _, release, err := segmentBytes(f, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	err = guardMapped("seg", func() { allZero(data) })
	if err == nil || !strings.Contains(err.Error(), "segment seg shrank") {
		t.Fatalf("guardMapped: %v", err)
	}
	if err := guardMapped("seg", func() { allZero(data[:4096]) }); err != nil {
		t.Fatal(err)
	}
}
