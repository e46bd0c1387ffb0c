package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  string
)

func TestMain(m *testing.M) {
	if args := os.Getenv(serveChildEnv); args != "" {
		// A node of TestServeClusterSurvivesLeaderKills.
		os.Exit(run(os.Stdout, os.Stderr, strings.Split(args, "\x1f")))
	}
	code := m.Run()
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// dataDir returns a fresh copy of a data directory holding the counter,
// lobby and lobbystats examples and a few calls: counters visits=7 and
// hits=1, players ada. The template is made once (through the CLI) and
// copied with its compilation cache, so tests compile nothing.
func dataDir(t *testing.T) string {
	t.Helper()
	templateOnce.Do(func() {
		wasm := map[string][]byte{}
		for _, m := range []string{"counter", "lobby", "lobbystats"} {
			wasm[m] = testwasm.Go(t, "examples/"+m)
		}
		d, err := os.MkdirTemp("", "interstice-cli-test")
		if err != nil {
			templateErr = err.Error()
			return
		}
		templateDir = filepath.Join(d, "data")
		steps := [][]string{}
		for _, m := range []string{"counter", "lobby", "lobbystats"} {
			f := filepath.Join(d, m+".wasm")
			os.WriteFile(f, wasm[m], 0o644)
			steps = append(steps, []string{"load", templateDir, f})
		}
		steps = append(steps,
			[]string{"call", templateDir, "counter", "add", `["visits", 3]`},
			[]string{"call", templateDir, "counter", "add", `{"name": "visits", "by": 4}`},
			[]string{"call", templateDir, "counter", "add", `["hits", 1]`},
			[]string{"call", templateDir, "lobby", "register", `["ada"]`})
		for _, s := range steps {
			if code, out, errOut := runCLI(s...); code != exitOK {
				templateErr = strings.Join(s, " ") + ": " + out + errOut
				return
			}
		}
	})
	if templateErr != "" {
		t.Fatal("making the data directory:", templateErr)
	}
	dst := filepath.Join(t.TempDir(), "data")
	if b, err := exec.Command("cp", "-a", templateDir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, b)
	}
	return dst
}

// corruptMidLog flips a payload byte of the first record of the log dir:
// valid records follow it, so it is corruption, not a torn tail.
func corruptMidLog(t *testing.T, logd string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(logd, "*.log"))
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	b[32+20] ^= 0x40
	if err := os.WriteFile(m[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !strings.Contains(p, string(filepath.Separator)+"cache") {
			out = append(out, p)
		}
		return nil
	})
	return strings.Join(out, "\n")
}

// TestLogCommandsOnADirectoryThatIsNotALog recreates `log validate /etc`
// (and a data directory given instead of its log) printing "ok", and
// `log repair DATADIR` leaving a stray LOCK file. A directory without
// segments is refused; a data directory means its log.
func TestLogCommandsOnADirectoryThatIsNotALog(t *testing.T) {
	cmds := [][]string{{"log", "validate"}, {"log", "validate", "--json"}, {"log", "inspect"}, {"log", "dump"}, {"log", "repair"}, {"log", "rotate"}}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string
	}{
		{"empty directory", func(t *testing.T) string { return t.TempDir() }},
		{"a directory of other files", func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "passwd"), []byte("root:x:0:0\n"), 0o644)
			os.Mkdir(filepath.Join(d, "ssh"), 0o755)
			return d
		}},
		{"a data directory whose log is empty", func(t *testing.T) string {
			d := t.TempDir()
			os.Mkdir(filepath.Join(d, "log"), 0o755)
			return d
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.make(t)
			before := listDir(t, dir)
			for _, c := range cmds {
				code, out, errOut := runCLI(append(c, dir)...)
				if code != exitFailed || !strings.Contains(errOut, "holds no log segments") && !strings.Contains(errOut, "not a log directory") || strings.Contains(out, "ok") {
					t.Errorf("%v: exit %d, want %d and \"not a log directory\"\nstdout: %s\nstderr: %s", c, code, exitFailed, out, errOut)
				}
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("the refused commands changed the directory:\n%s\n->\n%s", before, after)
			}
		})
	}
	t.Run("a data directory means its log", func(t *testing.T) {
		dir := dataDir(t)
		for _, c := range [][]string{{"log", "validate"}, {"log", "inspect"}, {"log", "dump"}, {"log", "repair"}} {
			if code, out, errOut := runCLI(append(c, dir)...); code != exitOK {
				t.Errorf("%v DATADIR: exit %d\n%s%s", c, code, out, errOut)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "LOCK")); err == nil {
			t.Error("log repair DATADIR left a LOCK file in the data directory")
		}
		if code, out, _ := runCLI("log", "validate", dir); code != exitOK || !strings.Contains(out, "records:  8") {
			t.Errorf("validate DATADIR read something else than DATADIR/log: exit %d\n%s", code, out)
		}
	})
}

// TestExitCodesOfRuntimeCommands recreates tables, scan, get, describe,
// snapshot and call exiting 3 on a damaged log, and a held lock reported
// as "internal error".
func TestExitCodesOfRuntimeCommands(t *testing.T) {
	damaged := dataDir(t)
	corruptMidLog(t, filepath.Join(damaged, "log"))
	locked := dataDir(t)
	l, err := persistence.Open(filepath.Join(locked, "log"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid := "held by pid " + itoa(int64(os.Getpid()))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"tables on a damaged log", []string{"tables", damaged}, exitDamaged, "offset 32 lsn 1"},
		{"scan on a damaged log", []string{"scan", damaged, "counter", "counters"}, exitDamaged, "offset 32 lsn 1"},
		{"get on a damaged log", []string{"get", damaged, "counter", "counters", "visits"}, exitDamaged, "offset 32 lsn 1"},
		{"describe on a damaged log", []string{"describe", damaged}, exitDamaged, "offset 32 lsn 1"},
		{"snapshot on a damaged log", []string{"snapshot", damaged}, exitDamaged, "offset 32 lsn 1"},
		{"call on a damaged log", []string{"call", damaged, "counter", "add", `["x", 1]`}, exitDamaged, "offset 32 lsn 1"},
		{"call on a locked directory", []string{"call", locked, "counter", "add", `["x", 1]`}, exitFailed, pid},
		{"snapshot on a locked directory", []string{"snapshot", locked}, exitFailed, pid},
		{"tables on a locked directory reads", []string{"tables", locked}, exitOK, ""},
		{"tables on a directory that is not a data directory", []string{"tables", t.TempDir()}, exitFailed, "not a data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "internal error") {
				t.Fatalf("exit %d, want %d with %q and no \"internal error\"\nstdout: %s\nstderr: %s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestVersionMatchesTheHeader: --version prints the library version of
// include/interstice.h.
func TestVersionMatchesTheHeader(t *testing.T) {
	h, err := os.ReadFile(filepath.Join(testwasm.Root(t), "include", "interstice.h"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define INTERSTICE_VERSION_STRING "([^"]+)"`).FindSubmatch(h)
	if m == nil || string(m[1]) != version {
		t.Fatalf("header version %q, CLI version %q", m, version)
	}
	if code, out, _ := runCLI("--version"); code != exitOK || !strings.HasPrefix(out, "interstice "+version) {
		t.Fatalf("--version: exit %d %q", code, out)
	}
}

// TestOutputIsForPeople recreates the Go struct dump of a call's
// subscribers, "1 rows", a blank snapshot path, an empty segment shown as
// "lsn N..N-1", a re-load and a rotation that did nothing but said they did.
func TestOutputIsForPeople(t *testing.T) {
	dir := dataDir(t)
	wasm := filepath.Join(filepath.Dir(templateDir), "counter.wasm")
	steps := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"one row", []string{"tables", dir}, []string{"1 row "}, []string{"1 rows"}},
		{"a call's subscribers", []string{"call", dir, "lobby", "register", `["grace"]`},
			[]string{"ok: lsn 9, 1 mutation\n", "subscriber lobbystats.on_insert_lobby_players (depth 1): lsn 10\n"}, []string{"{Module:", "Err:"}},
		{"re-load", []string{"load", dir, wasm}, []string{"counter 1.0.0 is already loaded"}, []string{"loaded counter"}},
		{"snapshot", []string{"snapshot", dir}, []string{"snapshot " + filepath.Join(dir, "snapshots")}, nil},
		{"snapshot again", []string{"snapshot", dir}, []string{"the snapshot at lsn 10 is current"}, []string{"snapshot  at"}},
		{"rotate", []string{"log", "rotate", dir}, []string{"rotated at lsn 10"}, nil},
		{"rotate an empty segment", []string{"log", "rotate", dir}, []string{"is empty", "nothing to rotate"}, []string{"rotated"}},
		{"an empty segment", []string{"log", "inspect", dir}, []string{"00000000000000000011.log  empty"}, []string{"lsn 11..10"}},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", s.name, code, out, errOut)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, out)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: stdout has %q:\n%s", s.name, w, out)
			}
		}
	}
}

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// checkKeys fails on any object key that is not snake_case.
func checkKeys(t *testing.T, what string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if !snakeKey.MatchString(k) {
				t.Errorf("%s: key %q is not snake_case", what, k)
			}
			if !strings.HasPrefix(k, "by_") { // counts keyed by names: data, not fields
				checkKeys(t, what, x)
			}
		}
	case []any:
		for _, x := range v {
			checkKeys(t, what, x)
		}
	}
}

// TestEveryJSONOutputParses recreates validate and inspect --json using Go
// field names ("FirstLSN", "TempFiles": null), scan and dump printing JSON
// Lines under --json, and dump showing module schemas as base64. Every
// --json output is one JSON document with snake_case keys, every --jsonl
// line is one.
func TestEveryJSONOutputParses(t *testing.T) {
	dir := dataDir(t)
	logd := filepath.Join(dir, "log")
	docs := map[string]any{}
	for _, args := range [][]string{
		{"log", "validate", "--json", logd},
		{"log", "inspect", "--json", logd},
		{"log", "dump", "--json", logd},
		{"tables", "--json", dir},
		{"describe", "--json", dir},
		{"scan", "--json", dir, "counter", "counters"},
		{"hash", "--json", dir},
		{"call", "--json", dir, "lobby", "register", `["grace"]`},
	} {
		code, out, errOut := runCLI(args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: not one JSON document: %v\n%s", args, err, out)
		}
		checkKeys(t, strings.Join(args[:2], " "), v)
		docs[args[0]+" "+args[1]] = v
	}
	for _, args := range [][]string{{"log", "dump", "--jsonl", logd}, {"scan", "--jsonl", dir, "counter", "counters"}} {
		code, out, errOut := runCLI(args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var v map[string]any
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("%v: line %q: %v", args, line, err)
			}
			checkKeys(t, strings.Join(args[:2], " "), v)
		}
	}
	if v := docs["log validate"].(map[string]any); v["last_lsn"] != 8.0 || v["temp_files"] == nil {
		t.Errorf("validate --json: %v", v)
	}
	recs := docs["log dump"].([]any)
	if len(recs) != 8 {
		t.Fatalf("dump --json: %d records, want 8", len(recs))
	}
	schema, ok := recs[0].(map[string]any)["module_record"].(map[string]any)["schema"].(map[string]any)
	if !ok || schema["name"] != "counter" || len(schema["tables"].([]any)) != 1 {
		t.Errorf("dump --json: module schema not decoded: %v", recs[0])
	}
	if rows := docs["scan --json"].([]any); len(rows) != 2 || rows[0].(map[string]any)["name"] != "hits" {
		t.Errorf("scan --json: %v", rows)
	}
	if c := docs["call --json"].(map[string]any); c["lsn"] != 9.0 || len(c["cascade"].([]any)) == 0 {
		t.Errorf("call --json: %v", c)
	}
}

// TestHashCommand: hash prints the LSN and the state's SHA-256; a
// snapshot leaves it as it is, and a call that changes a row changes it.
func TestHashCommand(t *testing.T) {
	dir := dataDir(t)
	hash := func() string {
		t.Helper()
		code, out, errOut := runCLI("hash", dir)
		if code != exitOK || !regexp.MustCompile(`^lsn \d+ sha256 [0-9a-f]{64}\n$`).MatchString(out) {
			t.Fatalf("hash: exit %d %q %s", code, out, errOut)
		}
		return out
	}
	before := hash()
	if code, _, errOut := runCLI("snapshot", dir); code != exitOK {
		t.Fatalf("snapshot: %d %s", code, errOut)
	}
	if got := hash(); got != before {
		t.Fatalf("a snapshot changed the hash: %q, was %q", got, before)
	}
	if code, _, errOut := runCLI("call", "--quiet", dir, "counter", "add", `["visits", 1]`); code != exitOK {
		t.Fatalf("call: %d %s", code, errOut)
	}
	if got := hash(); got == before || strings.Fields(got)[3] == strings.Fields(before)[3] {
		t.Fatalf("a call left the hash unchanged: %q", got)
	}
}

// TestEverydayCommands: describe, get, scan --limit and --from, and the
// names an unknown module, table or reducer lists.
func TestEverydayCommands(t *testing.T) {
	dir := dataDir(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout, or stderr for a failure
	}{
		{"describe", []string{"describe", dir}, exitOK, "reducer add(name string, by i64)"},
		{"describe keys", []string{"describe", dir, "counter"}, exitOK, "primary key"},
		{"describe subscriptions", []string{"describe", dir, "lobbystats"}, exitOK, "of lobby.players"},
		{"describe unknown module", []string{"describe", dir, "bank"}, exitFailed, "modules: counter, lobby, lobbystats"},
		{"get", []string{"get", dir, "counter", "counters", "visits"}, exitOK, `{"name":"visits","value":7}`},
		{"get a JSON key", []string{"get", dir, "counter", "counters", `"hits"`}, exitOK, `{"name":"hits","value":1}`},
		{"get a missing row", []string{"get", dir, "counter", "counters", "nope"}, exitFailed, `no row with name "nope"`},
		{"get unknown table", []string{"get", dir, "counter", "count", "x"}, exitFailed, "tables: counters"},
		{"scan --limit", []string{"scan", dir, "counter", "counters", "--limit", "1"}, exitOK, "name\tvalue\n\"hits\"\t1\n"},
		{"scan --from", []string{"scan", dir, "counter", "counters", "--from", "visits"}, exitOK, "name\tvalue\n\"visits\"\t7\n"},
		{"scan --from between keys", []string{"scan", dir, "counter", "counters", "--from", "i"}, exitOK, "name\tvalue\n\"visits\"\t7\n"},
		{"scan unknown table", []string{"scan", dir, "lobby", "player"}, exitFailed, "tables: players, rooms"},
		{"call unknown reducer", []string{"call", dir, "counter", "inc", `["x"]`}, exitFailed, "reducers: add(name string, by i64), reset(name string), remove(name string)"},
		{"call unknown module", []string{"call", dir, "count", "add", `["x", 1]`}, exitFailed, "modules: counter, lobby, lobbystats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			got := out
			if tc.code != exitOK {
				got = errOut
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestRepairAsksBeforeCuttingValidRecords recreates repair cutting the
// valid records after a mid-log corruption with no prompt: it needs
// --force, --dry-run says what it would cut, and a torn tail needs neither.
func TestRepairAsksBeforeCuttingValidRecords(t *testing.T) {
	dir := makeLog(t, 5)
	corruptMidLog(t, dir)
	before := listDir(t, dir)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"without --force", []string{"log", "repair", dir}, "rerun with --force"},
		{"--dry-run", []string{"log", "repair", "--dry-run", dir}, "nothing was changed"},
		{"--dry-run --force", []string{"log", "repair", "--dry-run", "--force", dir}, "nothing was changed"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitDamaged || !strings.Contains(errOut, tc.want) || !strings.Contains(out, "cut segment 00000000000000000001.log at offset 32 (lsn 1)") {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.name, code, exitDamaged, out, errOut)
		}
		if after := listDir(t, dir); after != before {
			t.Fatalf("%s changed the log:\n%s\n->\n%s", tc.name, before, after)
		}
	}
	if code, out, errOut := runCLI("log", "repair", "--force", dir); code != exitOK || !strings.Contains(out, "truncated at corruption") {
		t.Fatalf("--force: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI("log", "repair", dir); code != exitOK || !strings.Contains(out, "nothing to repair") {
		t.Fatalf("repair of a healthy log: exit %d\n%s", code, out)
	}
}

// TestGuestLogLinesReachStderr recreates the CLI throwing guest log lines
// away: call prints them on stderr as "module: level: message", and
// --quiet drops them.
func TestGuestLogLinesReachStderr(t *testing.T) {
	dir := dataDir(t)
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"call", []string{"call", dir, "counter", "reset", `["visits"]`}, true},
		{"call --quiet", []string{"call", "--quiet", dir, "counter", "reset", `["visits"]`}, false},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", tc.name, code, out, errOut)
		}
		if got := strings.Contains(errOut, "counter: info: counter visits reset\n"); got != tc.want || strings.Contains(out, "reset") {
			t.Errorf("%s: guest line on stderr %v, want %v\nstdout: %s\nstderr: %s", tc.name, got, tc.want, out, errOut)
		}
	}
}

// TestProgressShowsATrueRate recreates "4.0 TB/s": the rate was taken
// from when the bar appeared, at the first report, which covered a whole
// segment. It is the bytes over the time since the work started.
func TestProgressShowsATrueRate(t *testing.T) {
	for _, tc := range []struct {
		name          string
		done, total   int64
		elapsed       time.Duration
		want, notWant string
	}{
		{"first report covers a segment", 64 << 20, 128 << 20, 500 * time.Millisecond, "134 MB/s", "TB/s"},
		{"finished", 100e6, 100e6, 2 * time.Second, "100%  100 MB / 100 MB  50.0 MB/s", "eta"},
		{"at once", 10e6, 100e6, 0, "10.0 MB / 100 MB", "/s"},
	} {
		got := progressLine("validate", tc.done, tc.total, tc.elapsed)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.notWant) {
			t.Errorf("%s: %q, want %q and no %q", tc.name, got, tc.want, tc.notWant)
		}
	}
}

// TestDumpProgressAdvancesWithinASegment recreates a dump progress bar that
// moved once per whole segment: it advances by the bytes of each record.
func TestDumpProgressAdvancesWithinASegment(t *testing.T) {
	dir := makeLog(t, 5) // 5 records in one 4096-byte segment
	var reports []int64
	progressFor = func(string) (func(done, total int64), func()) {
		return func(done, total int64) { reports = append(reports, done) }, func() {}
	}
	defer func() { progressFor = progress }()
	if code, _, errOut := runCLI("log", "dump", dir); code != exitOK {
		t.Fatalf("dump: exit %d %s", code, errOut)
	}
	if len(reports) != 5 || reports[0] != 0 || reports[4] <= reports[3] || reports[4] >= 4096 {
		t.Fatalf("progress reports %v, want one per record, rising within the segment", reports)
	}
}

// TestValidateProgressAdvancesWithinASegment recreates a validate and
// inspect progress bar that moved once per whole (64 MiB) segment: on a
// log of one segment of some 3 MiB of records, inspect reports within the
// segment (its walk of the records does, unless the workers' reports
// went further first), and both end at (total, total) after monotonic reports.
// persistence's test of the same name covers validate's reports within a
// segment, with workers it can slow down.
func TestValidateProgressAdvancesWithinASegment(t *testing.T) {
	dir := t.TempDir()
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{SegmentSize: 8 << 20, Sync: persistence.SyncNone}))
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 4000)
	txs := make([]persistence.Payload, 100)
	for b := 0; b < 8; b++ {
		for i := range txs {
			n := b*len(txs) + i
			txs[i] = &record.Txn{Timestamp: uint64(n + 1), Kind: fb.TxKindReducer, Module: "counter", Reducer: "add",
				Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "counter", Table: "counters", Row: row.MustEncode(pad, int64(n))}}}
		}
		if _, err := l.AppendBatch(txs); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	defer func() { progressFor = progress }()
	for _, cmd := range []string{"validate", "inspect"} {
		var done, total []int64
		progressFor = func(string) (func(done, total int64), func()) {
			return func(d, tt int64) { done, total = append(done, d), append(total, tt) }, func() {}
		}
		if code, _, errOut := runCLI("log", cmd, dir); code != exitOK {
			t.Fatalf("%s: exit %d %s", cmd, code, errOut)
		}
		n := len(done)
		if n == 0 || done[n-1] != total[n-1] || total[n-1] < 3<<20 || total[n-1] > 4<<20 {
			t.Fatalf("%s: progress done %v total %v, want to end at (total, total) with total the 3 MiB of records", cmd, done, total)
		}
		for i := 1; i < n; i++ {
			if done[i] < done[i-1] || done[i] > total[i] || total[i] > total[i-1] {
				t.Fatalf("%s: progress not monotonic: done %v total %v", cmd, done, total)
			}
		}
		if cmd == "inspect" && (n < 2 || done[n-2] >= total[n-1]) {
			t.Fatalf("%s: progress done %v, want reports within the segment", cmd, done)
		}
	}
}

// TestStampShowsTime: log dump shows a record's time as UTC, and the
// logical clock of a log written before 0.4.0 as the number it is.
func TestStampShowsTime(t *testing.T) {
	if got := stamp(1796256000000000001); got != "2026-12-03T00:00:00.000000001Z" {
		t.Fatalf("stamp: %s", got)
	}
	if got := stamp(5); got != "ts 5" {
		t.Fatalf("stamp of a logical clock: %s", got)
	}
}
