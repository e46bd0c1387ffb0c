package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// makeLog writes n one-insert transactions to a fresh log and returns its dir.
func makeLog(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{SegmentSize: 4096}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		tx := &record.Txn{Timestamp: uint64(i + 1), Kind: fb.TxKindReducer, Module: "counter", Reducer: "add",
			Args: row.MustEncode("hits", int64(1)),
			Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "counter", Table: "counters",
				Row: row.MustEncode("hits", int64(i))}}}
		if _, err := l.Append(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(&o, &e, args)
	return code, o.String(), e.String()
}

// lastSegment returns the path of the newest segment file in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(m) == 0 {
		t.Fatal("no segments")
	}
	return m[len(m)-1]
}

func TestExitCodes(t *testing.T) {
	healthy := makeLog(t, 50)
	torn := makeLog(t, 5)
	seg := lastSegment(t, torn)
	data, _ := os.ReadFile(seg)
	// Cut the last record in half: find the end of the valid data.
	rep, err := persistence.Validate(torn, record.LogOptions(persistence.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	valid := rep.Segments[len(rep.Segments)-1].DataBytes
	if err := os.WriteFile(seg, data[:valid-5], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"help", []string{"help"}, exitOK, "usage"},
		{"bare interstice", nil, exitUsage, ""},
		{"version", []string{"--version"}, exitOK, "interstice " + version},
		{"command help", []string{"log", "dump", "-h"}, exitOK, "usage: interstice log dump"},
		{"validate healthy", []string{"log", "validate", healthy}, exitOK, "ok"},
		{"validate torn", []string{"log", "validate", torn}, exitDamaged, "torn tail: true"},
		{"validate missing dir", []string{"log", "validate", filepath.Join(healthy, "nope")}, exitFailed, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, ""},
		{"missing argument", []string{"log", "validate"}, exitUsage, ""},
		{"bad flag", []string{"log", "dump", healthy, "--bogus"}, exitUsage, ""},
		{"inspect", []string{"log", "inspect", healthy}, exitOK, "counters"},
		{"dump from", []string{"log", "dump", healthy, "--from", "49"}, exitOK, "lsn 50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.out) {
				t.Fatalf("stdout %q lacks %q", out, tc.out)
			}
		})
	}
}

func TestDumpJSONLIsOneObjectPerRecord(t *testing.T) {
	dir := makeLog(t, 30)
	code, out, errOut := runCLI("log", "dump", "--jsonl", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 30 {
		t.Fatalf("%d lines, want 30", len(lines))
	}
	var rec struct {
		LSN       uint64 `json:"lsn"`
		Kind      string `json:"kind"`
		Mutations []struct {
			Op    string `json:"op"`
			Table string `json:"table"`
			Row   []any  `json:"row"`
		} `json:"mutations"`
	}
	if err := json.Unmarshal([]byte(lines[29]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.LSN != 30 || rec.Kind != "Reducer" || len(rec.Mutations) != 1 || rec.Mutations[0].Op != "Insert" ||
		rec.Mutations[0].Table != "counters" || rec.Mutations[0].Row[0] != "hits" || rec.Mutations[0].Row[1] != 29.0 {
		t.Fatalf("unexpected record %s", lines[29])
	}
}

func TestRepairThenValidate(t *testing.T) {
	dir := makeLog(t, 10)
	seg := lastSegment(t, dir)
	rep, _ := persistence.Validate(dir, record.LogOptions(persistence.Options{}))
	valid := rep.Segments[len(rep.Segments)-1].DataBytes
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Tear the last record: zero its final bytes.
	if _, err := f.WriteAt(make([]byte, 6), valid-6); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, _, _ := runCLI("log", "validate", dir); code != exitDamaged {
		t.Fatalf("validate before repair: exit %d, want %d", code, exitDamaged)
	}
	code, out, errOut := runCLI("log", "repair", dir)
	if code != exitOK || !strings.Contains(out, "torn") {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI("log", "validate", dir); code != exitOK || !strings.Contains(out, "lsn:      1..9") {
		t.Fatalf("validate after repair: exit %d\n%s", code, out)
	}
	broken, _ := filepath.Glob(filepath.Join(dir, "*.broken"))
	if len(broken) != 1 {
		t.Fatalf("want one .broken file, got %v", broken)
	}
}

func TestRotateStartsNewSegment(t *testing.T) {
	dir := makeLog(t, 3)
	before, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if code, out, errOut := runCLI("log", "rotate", dir); code != exitOK {
		t.Fatalf("rotate: exit %d %s %s", code, out, errOut)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(after) != len(before)+1 {
		t.Fatalf("segments %v -> %v", before, after)
	}
	if code, _, _ := runCLI("log", "validate", dir); code != exitOK {
		t.Fatal("log invalid after rotate")
	}
}
