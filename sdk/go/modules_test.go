package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/interstice/interstice/sdk/go/internal/stubhost"
)

// guestPackages lists every Go guest module in the repository.
func guestPackages(t *testing.T) []string {
	var pkgs []string
	for _, pat := range []string{"../../examples/*/main.go", "../../tests/modules/go/*/main.go"} {
		ms, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			pkgs = append(pkgs, "./"+strings.TrimPrefix(filepath.Dir(m), "../../"))
		}
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %v", pkgs)
	}
	return pkgs
}

// TestEveryModuleBuildsAndDescribes builds every example and test module
// for wasip1 and checks that it instantiates and describes itself.
func TestEveryModuleBuildsAndDescribes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every guest module")
	}
	for _, pkg := range guestPackages(t) {
		t.Run(pkg, func(t *testing.T) {
			h := stubhost.New(t)
			m, err := h.Load(stubhost.Build(t, pkg))
			if err != nil {
				t.Fatal(err)
			}
			if m.Schema.AbiVersion() != 1 || m.Name == "" || m.Schema.ReducersLength() == 0 {
				t.Fatalf("schema: abi %d name %q reducers %d", m.Schema.AbiVersion(), m.Name, m.Schema.ReducersLength())
			}
		})
	}
}

func load(t *testing.T, h *stubhost.Host, pkgs ...string) {
	t.Helper()
	for _, p := range pkgs {
		if _, err := h.Load(stubhost.Build(t, p)); err != nil {
			t.Fatalf("load %s: %v", p, err)
		}
	}
}

func rows(h *stubhost.Host, table string) string { return fmtRows(h.Tables[table].Sorted()) }

func TestNoopModule(t *testing.T) {
	h := stubhost.New(t)
	load(t, h, "./tests/modules/go/noop")
	if err := h.Call("noop", "noop"); err != nil {
		t.Fatal(err)
	}
	if err := h.Call("noop", "insert", uint64(7), "seven", int64(-7)); err != nil {
		t.Fatal(err)
	}
	if got := rows(h, "noop.kv"); got != "[[7 seven -7]]" {
		t.Fatalf("kv %s", got)
	}
}

// TestTrapperRollsBack checks that each way a reducer can fail reaches the
// host as a failure with the module's message (the stub host rolls back).
func TestTrapperRollsBack(t *testing.T) {
	tests := []struct {
		name    string
		reducer string
		want    string // substring of the error
	}{
		{"wasm trap", "insert3_trap", "out of bounds memory access"},
		{"panic", "insert3_panic", "panic: trapper: deliberate panic"},
		{"error", "insert3_error", "trapper: deliberate error"},
		{"abort", "insert3_abort", "abort: trapper: deliberate abort"},
		{"exit", "insert3_exit", "exit_code(3)"},
		{"duplicate", "insert_dup", "insert rows: interstice: duplicate key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := stubhost.New(t)
			load(t, h, "./tests/modules/go/trapper")
			if err := h.Call("trapper", "insert_one", uint64(100)); err != nil {
				t.Fatal(err)
			}
			err := h.Call("trapper", tc.reducer, uint64(1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if got := rows(h, "trapper.rows"); got != "[[100 ok]]" {
				t.Fatalf("rows after failure %s", got)
			}
		})
	}
}

func TestLimitsModule(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		h := stubhost.NewWithConfig(t, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
		load(t, h, "./tests/modules/go/limits")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := h.CallCtx(ctx, "limits", "spin_after_insert", uint64(1))
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
			t.Fatalf("error %v, want deadline exceeded", err)
		}
		if got := rows(h, "limits.blobs"); got != "[]" {
			t.Fatalf("blobs %s", got)
		}
	})
	t.Run("memory", func(t *testing.T) {
		h := stubhost.NewWithConfig(t, wazero.NewRuntimeConfig().WithMemoryLimitPages(1024)) // 64 MiB
		load(t, h, "./tests/modules/go/limits")
		if err := h.Call("limits", "grow", uint32(8)); err != nil {
			t.Fatalf("grow 8 MiB: %v", err)
		}
		if err := h.Call("limits", "bomb"); err == nil {
			t.Fatal("memory bomb succeeded")
		}
	})
	t.Run("huge row", func(t *testing.T) {
		h := stubhost.New(t)
		load(t, h, "./tests/modules/go/limits")
		err := h.Call("limits", "huge_row", uint64(1), uint32(2<<20))
		if err == nil || !strings.Contains(err.Error(), "insert blobs: interstice: limit exceeded") {
			t.Fatalf("error %v", err)
		}
		if err := h.Call("limits", "huge_row", uint64(2), uint32(1000)); err != nil {
			t.Fatal(err)
		}
		if err := h.Call("limits", "echo_len", bytes.Repeat([]byte{1}, 5000)); err != nil {
			t.Fatal(err)
		}
		if n := len(h.Tables["limits.blobs"].Rows); n != 2 {
			t.Fatalf("%d blobs", n)
		}
	})
}

// TestClockIsDeterministic runs the clock module twice in fresh runtimes
// (wazero's default clock and random source are deterministic, as the real
// host's are per transaction) and compares the stored samples.
func TestClockIsDeterministic(t *testing.T) {
	run := func() string {
		h := stubhost.New(t)
		load(t, h, "./tests/modules/go/clock")
		for i := uint64(1); i <= 3; i++ {
			if err := h.Call("clock", "sample", i); err != nil {
				t.Fatal(err)
			}
		}
		return rows(h, "clock.samples")
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("two runs differ:\n%s\n%s", a, b)
	}
	if strings.Count(a, "[") != 4 {
		t.Fatalf("samples %s", a)
	}
}

func TestCallerCallee(t *testing.T) {
	tests := []struct {
		reducer string
		wantErr string // "" for success
		log     string // caller.log after the call
		hits    string // callee.hits after the call
	}{
		{"call_record", "", "[[1 ok]]", "[[1 caller]]"},
		{"call_fail", "call callee.fail_always: interstice: reducer failed", "[]", "[]"},
		{"call_fail_ignore", "callee failed on purpose", "[]", "[]"},
		{"call_cycle", "call callee.call_back: interstice: reducer failed", "[]", "[]"},
		{"call_self", "call caller.ping: interstice: call cycle", "[]", "[]"},
		{"call_missing", "call nosuch.reducer: interstice: no such reducer", "[]", "[]"},
		{"call_missing_reducer", "call callee.nosuch: interstice: no such reducer", "[]", "[]"},
		{"call_bad_args", "call callee.record: interstice: type mismatch", "[]", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.reducer, func(t *testing.T) {
			h := stubhost.New(t)
			load(t, h, "./tests/modules/go/caller", "./tests/modules/go/callee")
			err := h.Call("caller", tc.reducer, uint64(1))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := rows(h, "caller.log"); got != tc.log {
				t.Fatalf("log %s, want %s", got, tc.log)
			}
			if got := rows(h, "callee.hits"); got != tc.hits {
				t.Fatalf("hits %s, want %s", got, tc.hits)
			}
		})
	}
}

func TestAccessModule(t *testing.T) {
	h := stubhost.New(t)
	load(t, h, "./tests/modules/go/access", "./tests/modules/go/callee")
	if err := h.Call("callee", "seed"); err != nil {
		t.Fatal(err)
	}
	if err := h.Call("callee", "record", uint64(5), "me"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reducer string
		args    []any
		want    string // error substring, or "" for success
	}{
		{"write_other", []any{"callee", "hits"}, "access denied"},
		{"update_other", []any{"callee", "hits"}, "access denied"},
		{"delete_other", []any{"callee", "hits", uint64(5)}, "access denied"},
		{"read_other", []any{"callee", "secrets"}, "access denied"},
		{"get_other", []any{"callee", "secrets", uint64(1)}, "access denied"},
		{"scan_other", []any{"callee", "secrets"}, "access denied"},
		{"read_other", []any{"callee", "hits"}, ""},
		{"get_other", []any{"callee", "hits", uint64(5)}, ""},
		{"scan_other", []any{"callee", "hits"}, ""},
		{"read_other", []any{"callee", "nosuch"}, "no such table"},
		{"bad_pointer", nil, "status -1"},
		{"bad_length", nil, "status -"},
		{"bad_row", nil, "status -1"},
		{"wrong_type", nil, "status -4"},
		{"bad_handle", nil, "status -2"},
		{"bad_iterator", nil, "status -12"},
		{"bad_out_len_ptr", nil, "status -1"},
		{"bad_name", nil, "status -"},
		{"bad_call", nil, "status -1"},
	}
	for _, tc := range tests {
		err := h.Call("access", tc.reducer, tc.args...)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s%v: error %v, want %q", tc.reducer, tc.args, err, tc.want)
		}
	}
	if got := rows(h, "access.results"); !strings.Contains(got, "[read_other ok count=1]") ||
		!strings.Contains(got, "[get_other ok found=true]") || !strings.Contains(got, "[scan_other ok rows=1]") {
		t.Fatalf("results %s", got)
	}
	if got := rows(h, "callee.hits"); got != "[[5 me]]" {
		t.Fatalf("callee.hits changed: %s", got)
	}
}

// TestReadonlyTrapMatchesCounter checks that readonly_trap describes
// exactly examples/counter's schema, and that its reducers fail.
func TestReadonlyTrapMatchesCounter(t *testing.T) {
	h1, h2 := stubhost.New(t), stubhost.New(t)
	load(t, h1, "./examples/counter")
	load(t, h2, "./tests/modules/go/readonly_trap")
	if !bytes.Equal(h1.Mods["counter"].Raw, h2.Mods["counter"].Raw) {
		t.Fatal("schemas differ")
	}
	err := h2.Call("counter", "add", "a", int64(1))
	if err == nil || !strings.Contains(err.Error(), "readonly_trap: reducer add must not run") {
		t.Fatalf("error %v", err)
	}
}

func TestLobbyWithStats(t *testing.T) {
	h := stubhost.New(t)
	load(t, h, "./examples/lobby", "./examples/lobbystats")
	want := []string{"on_insert_lobby_players(old:bytes?,new:bytes?)", "on_update_lobby_players(old:bytes?,new:bytes?)",
		"on_delete_lobby_players(old:bytes?,new:bytes?)", "quick_match(player:string)"}
	if got := reducers(h.Mods["lobbystats"].Schema); !reflect.DeepEqual(got, want) {
		t.Fatalf("lobbystats reducers %v", got)
	}
	steps := []struct {
		module, reducer string
		args            []any
		wantErr         string
	}{
		{"lobby", "register", []any{"ann"}, ""},
		{"lobby", "register", []any{"bob"}, ""},
		{"lobby", "register", []any{"ann"}, `player "ann" is already registered`},
		{"lobby", "create_room", []any{"red", uint32(2), []any{"casual"}}, ""},
		{"lobby", "create_room", []any{"blue", uint32(1), []any{}}, ""},
		{"lobby", "join", []any{"ann", "red"}, ""},
		{"lobby", "join", []any{"bob", "red"}, ""},
		{"lobby", "join", []any{"bob", "blue"}, ""},
		{"lobby", "register", []any{"cy"}, ""},
		{"lobby", "join", []any{"cy", "blue"}, `room "blue" is full (1 players)`},
		{"lobbystats", "quick_match", []any{"cy"}, ""},
		{"lobby", "unregister", []any{"ann"}, ""},
	}
	for _, st := range steps {
		err := h.Call(st.module, st.reducer, st.args...)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || err.Error() != st.wantErr) {
			t.Fatalf("%s.%s%v: error %v, want %q", st.module, st.reducer, st.args, err, st.wantErr)
		}
	}
	if got, want := rows(h, "lobby.rooms"), "[[blue 1 [bob] []] [red 2 [cy] [casual]]]"; got != want {
		t.Fatalf("rooms %s, want %s", got, want)
	}
	if got, want := rows(h, "lobbystats.room_stats"), "[[blue 1 0] [red 3 2]]"; got != want {
		t.Fatalf("room_stats %s, want %s", got, want)
	}
	var feed []string
	for _, r := range h.Tables["lobbystats.activity"].Sorted() {
		feed = append(feed, r[2].(string))
	}
	wantFeed := []string{"ann registered", "bob registered", "ann joined red", "bob joined red",
		"bob left red", "bob joined blue", "cy registered", "cy joined red", "ann left red", "ann unregistered"}
	if !reflect.DeepEqual(feed, wantFeed) {
		t.Fatalf("activity\n%q\nwant\n%q", feed, wantFeed)
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

// BenchmarkReducer measures a reducer call through the ABI against the stub
// host: mostly guest-side SDK cost (argument decoding, row encoding) plus
// wazero's call overhead. The real host's figures are in bench/.
func BenchmarkReducer(b *testing.B) {
	h := stubhost.New(b)
	if _, err := h.Load(stubhost.Build(b, "./tests/modules/go/noop")); err != nil {
		b.Fatal(err)
	}
	b.Run("noop", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := h.Call("noop", "noop"); err != nil {
				b.Fatal(err)
			}
		}
	})
	id := uint64(0)
	b.Run("insert", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			id++
			if err := h.Call("noop", "insert", id, "name", int64(i)); err != nil {
				b.Fatal(err)
			}
			if len(h.Tables["noop.kv"].Rows) > 100000 {
				h.Tables["noop.kv"].Rows = map[string][]byte{}
			}
		}
	})
}
