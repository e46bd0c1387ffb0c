package persistence

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashDirEnv     = "PERSISTENCE_CRASH_CHILD_DIR"
	crashWritersEnv = "PERSISTENCE_CRASH_CHILD_WRITERS"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockChildEnv); dir != "" {
		lockChild(dir)
		os.Exit(0)
	}
	if dir := os.Getenv(crashDirEnv); dir != "" {
		writers, _ := strconv.Atoi(os.Getenv(crashWritersEnv))
		crashChild(dir, writers)
		os.Exit(0)
	}
	code := m.Run()
	cleanupBenchLog()
	os.Exit(code)
}

// tagTxn returns a record whose every body byte derives from tag (the
// tag, a space, then the tag repeated 4 to 10 times), so that a record
// read back can be checked for being whole. tag holds no space.
func tagTxn(tag string) testRec {
	return testRec{Body: []byte(tag + " " + strings.Repeat(tag, 4+len(tag)%7))}
}

// recordTag returns the tag of a tagTxn payload read back as record lsn,
// or an error unless the payload is exactly tagTxn(tag) written as lsn.
func recordTag(p []byte, lsn uint64) (string, error) {
	rec, err := decodeTestRec(p)
	if err != nil {
		return "", err
	}
	tag, _, _ := strings.Cut(string(rec.Body), " ")
	if want := tagTxn(tag).AppendPayload(nil, lsn); !bytes.Equal(p, want) {
		return "", fmt.Errorf("lsn %d is not whole: %q", lsn, p)
	}
	return tag, nil
}

// crashChild appends forever with SyncAlways and prints "lsn tag" for every
// acknowledged record, until it is killed.
func crashChild(dir string, writers int) {
	l, err := Open(dir, Options{SegmentSize: 32 << 10, Check: testCheck})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := os.Stdout
	var wg sync.WaitGroup
	for w := 0; w < max(writers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				// Odd rounds append a batch of 1 to 5 records, each
				// tagged ".KofN" (batchTag), which must survive whole or
				// not at all.
				n := 1
				if i%2 == 1 {
					n = 1 + i/2%5
				}
				tags := make([]string, n)
				batch := make([]Payload, n)
				for k := range batch {
					tags[k] = fmt.Sprintf("p%d-w%d-%d.%dof%d", os.Getpid(), w, i, k+1, n)
					batch[k] = tagTxn(tags[k])
				}
				var lsn uint64
				var err error
				if n == 1 {
					lsn, err = l.Append(batch[0])
				} else {
					lsn, err = l.AppendBatch(batch)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(4)
				}
				mu.Lock()
				for k, tag := range tags {
					fmt.Fprintf(out, "%d %s\n", lsn+uint64(k), tag)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// batchTag is the place of a record in the batch it was appended in:
// the k-th of n, of the batch whose tags start with base.
type batchTag struct {
	base string
	k, n int
}

func parseBatchTag(tag string) batchTag {
	var b batchTag
	i := strings.LastIndexByte(tag, '.')
	if i < 0 {
		return b
	}
	b.base = tag[:i]
	fmt.Sscanf(tag[i+1:], "%dof%d", &b.k, &b.n)
	return b
}

// next is the place due after b: its batch's next record, or the zero
// batchTag when the first record of any new batch is due.
func (b batchTag) next() batchTag {
	if b.k < b.n {
		return batchTag{b.base, b.k + 1, b.n}
	}
	return batchTag{}
}

// TestCrashKillAtRandomMoments SIGKILLs a child that appends records and
// batches with SyncAlways, and checks after every kill that every
// acknowledged record survived and that every batch in the log is whole.
func TestCrashKillAtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	tests := []struct {
		name    string
		writers int
		rounds  int
	}{
		{"one writer", 1, 20},
		{"eight writers group commit", 8, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			acked := map[uint64]string{}
			for round := 0; round < tc.rounds; round++ {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashWritersEnv+"="+strconv.Itoa(tc.writers))
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				lines := make(chan string, 1024)
				go func() {
					sc := bufio.NewScanner(stdout)
					for sc.Scan() {
						lines <- sc.Text()
					}
					close(lines)
				}()
				// Wait for the first acknowledgement, then kill at a random moment.
				first, ok := <-lines
				if !ok {
					cmd.Wait()
					t.Fatalf("round %d: child acknowledged nothing: %s", round, stderr.String())
				}
				time.Sleep(time.Duration(rng.Intn(40000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				got := []string{first}
				for line := range lines {
					got = append(got, line)
				}
				cmd.Wait()
				for _, line := range got {
					f := strings.Fields(line)
					if len(f) != 2 {
						continue // a line cut by the kill was never fully reported
					}
					lsn, err := strconv.ParseUint(f[0], 10, 64)
					if err != nil {
						continue
					}
					if prev, dup := acked[lsn]; dup && prev != f[1] {
						t.Fatalf("round %d: lsn %d acknowledged twice (%s, %s)", round, lsn, prev, f[1])
					}
					acked[lsn] = f[1]
				}
				l, err := Open(dir, Options{SegmentSize: 32 << 10, Check: testCheck})
				if err != nil {
					t.Fatalf("round %d: reopen: %v", round, err)
				}
				var next uint64 = 1
				var open batchTag // the batch being read: every batch read is whole
				err = l.Replay(0, func(r Record) error {
					if r.LSN != next {
						return fmt.Errorf("lsn %d where %d expected", r.LSN, next)
					}
					next++
					got, err := recordTag(r.Payload, r.LSN)
					if err != nil {
						return err
					}
					if tag, ok := acked[r.LSN]; ok && tag != got {
						return fmt.Errorf("lsn %d holds %s, %s was acknowledged", r.LSN, got, tag)
					}
					b := parseBatchTag(got)
					if want := open.next(); b != want && (want.n != 0 || b.k != 1) {
						return fmt.Errorf("lsn %d holds %s where %+v was due: a batch was not read whole", r.LSN, got, want)
					}
					open = b
					return nil
				})
				if err == nil && open.k != open.n {
					err = fmt.Errorf("the log ends inside batch %+v", open)
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for lsn := range acked {
					if lsn >= next {
						t.Fatalf("round %d: acknowledged lsn %d lost (log ends at %d)", round, lsn, next-1)
					}
				}
				l.Close()
			}
			if len(acked) < tc.rounds {
				t.Fatalf("only %d acknowledgements in %d rounds", len(acked), tc.rounds)
			}
		})
	}
}
