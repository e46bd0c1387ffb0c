package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// malformRecord rewrites record lsn of the log's first segment into a
// CRC-valid record whose reducer string runs past the payload (it
// panicked `log dump` in text mode).
func malformRecord(t *testing.T, dir string, lsn uint64) (off int64) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	for o := int64(32); o+16 <= int64(len(b)); {
		n := int64(binary.LittleEndian.Uint32(b[o+4:]))
		if binary.LittleEndian.Uint64(b[o+8:]) == lsn {
			frame := b[o : o+16+n]
			i := bytes.Index(frame[16:], []byte("add\x00"))
			binary.LittleEndian.PutUint32(frame[16+i-4:], 1<<30)
			binary.LittleEndian.PutUint32(frame[0:], crc32.Checksum(frame[4:], crc32.MakeTable(crc32.Castagnoli)))
			if err := os.WriteFile(m[0], b, 0o644); err != nil {
				t.Fatal(err)
			}
			return o
		}
		o += (16 + n + 7) &^ 7
	}
	t.Fatalf("no record %d", lsn)
	return 0
}

// TestLogCommandsAgreeOnDamage recreates the log tools contradicting their
// own diagnosis: inspect exited 0 on a damaged log, rotate wrote a new
// segment into it, and dump panicked on a CRC-valid malformed record. Every
// log command now exits 1 (damaged) on the log validate calls damaged and
// names segment, offset and LSN; rotate writes nothing.
func TestLogCommandsAgreeOnDamage(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string) string // returns what the messages must name
		repair []string                              // flags repair needs: --force to cut valid records
	}{
		{"malformed record", func(t *testing.T, dir string) string {
			off := malformRecord(t, dir, 3)
			return "offset " + itoa(off) + " lsn 3:"
		}, []string{"--force"}},
		{"checksum mismatch mid-log", func(t *testing.T, dir string) string {
			m, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			b, _ := os.ReadFile(m[0])
			b[32+20] ^= 0x40 // inside record 1's payload; valid records follow
			os.WriteFile(m[0], b, 0o644)
			return "offset 32 lsn 1:"
		}, []string{"--force"}},
		{"torn tail", func(t *testing.T, dir string) string {
			seg := lastSegment(t, dir)
			rep, _ := persistence.Validate(dir, record.LogOptions(persistence.Options{}))
			b, _ := os.ReadFile(seg)
			valid := rep.Segments[len(rep.Segments)-1].DataBytes
			os.WriteFile(seg, b[:valid-5], 0o644)
			return "torn tail"
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := makeLog(t, 5)
			where := tc.damage(t, dir)
			before, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, args := range [][]string{
				{"log", "validate", dir},
				{"log", "validate", "--json", dir},
				{"log", "inspect", dir},
				{"log", "inspect", "--json", dir},
				{"log", "dump", dir},
				{"log", "dump", "--json", dir},
				{"log", "rotate", dir},
			} {
				code, out, errOut := runCLI(args...)
				if code != exitDamaged || !strings.Contains(out+errOut, where) {
					t.Errorf("%v: exit %d, want %d naming %q\nstdout: %s\nstderr: %s", args, code, exitDamaged, where, out, errOut)
				}
			}
			after, _ := filepath.Glob(filepath.Join(dir, "*"))
			if strings.Join(before, " ") != strings.Join(after, " ") {
				t.Fatalf("a read or a refused rotate changed the directory: %v -> %v", before, after)
			}
			if code, out, errOut := runCLI(append([]string{"log", "repair", dir}, tc.repair...)...); code != exitOK {
				t.Fatalf("repair: exit %d %s %s", code, out, errOut)
			}
			for _, args := range [][]string{{"log", "validate", dir}, {"log", "inspect", dir}, {"log", "dump", dir}, {"log", "rotate", dir}} {
				if code, out, errOut := runCLI(args...); code != exitOK {
					t.Errorf("after repair %v: exit %d\n%s%s", args, code, out, errOut)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRotateKeepsTheLogsSegmentSize: log rotate (and any CLI open) uses
// the segment size the log was made with, not the 64 MiB default, so a
// small-segment log opens on a nearly full disk.
func TestRotateKeepsTheLogsSegmentSize(t *testing.T) {
	dir := makeLog(t, 3) // 4096-byte segments
	if code, out, errOut := runCLI("log", "rotate", dir); code != exitOK {
		t.Fatalf("rotate: exit %d %s %s", code, out, errOut)
	}
	st, err := os.Stat(lastSegment(t, dir))
	if err != nil || st.Size() != 4096 {
		t.Fatalf("new segment: %v, %d bytes, want 4096", err, st.Size())
	}
}

type failingCloser struct{}

func (failingCloser) Close() error { return errors.New("fdatasync: input/output error") }

func init() {
	register(command{"test-durable-then-close-fails", "", "(test only)", func(e env, args []string) error {
		io.WriteString(e.stdout, "ok: lsn 7, 1 mutation(s)\n")
		return closeAfter(failingCloser{}, "the call was acknowledged at lsn 7")
	}})
}

// TestCloseFailureAfterDurableCallIsAWarning recreates `interstice call`
// printing "ok: lsn N" and then exiting 3 because closing failed after the
// call was durable: the exit status is 0 and stderr says the call is
// durable.
func TestCloseFailureAfterDurableCallIsAWarning(t *testing.T) {
	code, out, errOut := runCLI("test-durable-then-close-fails")
	if code != exitOK || !strings.Contains(out, "ok: lsn 7") ||
		!strings.Contains(errOut, "warning: the call was acknowledged at lsn 7 and is durable") || !strings.Contains(errOut, "input/output error") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
