package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

func testConfig(t testing.TB) Config {
	return NewConfig().WithCompilationCacheDir(testwasm.CacheDir(t))
}

// open returns a runtime with the given WAT modules loaded, in order.
func open(t testing.TB, cfg Config, mods ...[]byte) *Runtime {
	t.Helper()
	rt, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	for _, m := range mods {
		if _, err := rt.LoadModule(m); err != nil {
			t.Fatalf("LoadModule: %v", err)
		}
	}
	return rt
}

func call(t testing.TB, rt *Runtime, mod, red string, args ...any) (CallResult, error) {
	t.Helper()
	buf, err := row.Encode(args)
	if err != nil {
		t.Fatal(err)
	}
	return rt.Call(context.Background(), mod, red, buf)
}

func mustCall(t testing.TB, rt *Runtime, mod, red string, args ...any) CallResult {
	t.Helper()
	res, err := call(t, rt, mod, red, args...)
	if err != nil {
		t.Fatalf("%s.%s: %v", mod, red, err)
	}
	return res
}

func count(t testing.TB, rt *Runtime, mod, tbl string) int {
	t.Helper()
	n, err := rt.Count(mod, tbl)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t testing.TB, err error, code Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", code)
	}
	if c := CodeOf(err); c != code {
		t.Fatalf("got code %v (%v), want %v", c, err, code)
	}
}

func TestCallInsertAndRead(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	res := mustCall(t, rt, "kv", "put", uint64(7), "seven")
	if res.LSN != 2 || res.Mutations != 1 { // LSN 1 is the module load
		t.Fatalf("result %+v", res)
	}
	got, found, err := rt.Get("kv", "items", 7)
	if err != nil || !found {
		t.Fatalf("Get: %v %v", found, err)
	}
	if !bytes.Equal(got, row.MustEncode(uint64(7), "seven")) {
		t.Fatalf("row %x", got)
	}
	js, found, err := rt.GetJSON("kv", "items", []byte("7"))
	if err != nil || !found || string(js) != `{"id":7,"name":"seven"}` {
		t.Fatalf("GetJSON %s %v %v", js, found, err)
	}
	if _, err := rt.CallJSON(context.Background(), "kv", "put", []byte(`{"id": 8, "name": "eight"}`)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, rt, "kv", "items"); n != 2 {
		t.Fatalf("count %d", n)
	}
	_, err = call(t, rt, "kv", "put", uint64(7), "again")
	wantCode(t, err, CodeReducerFailed)
	if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), "insert failed") {
		t.Fatalf("duplicate: %v", err)
	}
	mustCall(t, rt, "kv", "upd", uint64(7), "SEVEN")
	js, _, _ = rt.GetJSON("kv", "items", []byte("7"))
	if string(js) != `{"id":7,"name":"SEVEN"}` {
		t.Fatalf("after update %s", js)
	}
}

func TestAtomicity(t *testing.T) {
	tests := []struct {
		name    string
		reducer string
		code    Code
		msg     string
	}{
		{"trap after three inserts", "put3_trap", CodeTrap, "unreachable"},
		{"fail after three inserts", "put3_fail", CodeReducerFailed, "three then fail"},
		{"abort after three inserts", "put3_abort", CodeReducerFailed, "aborted!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lsns []uint64
			rt := open(t, testConfig(t), kvWasm(t))
			rt.commit.(*memCommitter).observe = func(x *txn) { lsns = append(lsns, x.LSN) }
			var events int
			if _, err := rt.Subscribe("kv", "items", EventAll, func(Event) { events++ }); err != nil {
				t.Fatal(err)
			}
			_, err := call(t, rt, "kv", tc.reducer)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "kv") {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
			if n := count(t, rt, "kv", "items"); n != 0 || len(lsns) != 0 || events != 0 {
				t.Fatalf("left %d rows, %d commits, %d events", n, len(lsns), events)
			}
			// The module still works (re-created after a trap).
			res := mustCall(t, rt, "kv", "put", uint64(1), "x")
			if res.LSN != 2 || count(t, rt, "kv", "items") != 1 {
				t.Fatalf("after failure: %+v", res)
			}
		})
	}
}

func TestReadYourWrites(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	mustCall(t, rt, "kv", "put", uint64(5), "five")
	mustCall(t, rt, "kv", "ryw")
	if n := count(t, rt, "kv", "items"); n != 2 {
		t.Fatalf("count %d", n)
	}
	mustCall(t, rt, "kv", "del_a")
	if _, found, _ := rt.Get("kv", "items", uint64(1)); found {
		t.Fatal("row 1 not deleted")
	}
	_, err := call(t, rt, "kv", "del_a")
	if err == nil {
		t.Fatal("second delete succeeded")
	}
}

func TestScanHost(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	const n = 1000
	for i := n; i > 0; i-- {
		mustCall(t, rt, "kv", "put", uint64(i), fmt.Sprint("r", i))
	}
	sc, err := rt.Scan("kv", "items", nil)
	if err != nil {
		t.Fatal(err)
	}
	var prev uint64
	seen := 0
	for sc.Next() {
		id, err := row.Field(sc.Row(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if id.(uint64) <= prev {
			t.Fatalf("out of order: %d after %d", id, prev)
		}
		prev = id.(uint64)
		seen++
	}
	if sc.Err() != nil || seen != n {
		t.Fatalf("scan saw %d rows, err %v", seen, sc.Err())
	}
	sc, _ = rt.Scan("kv", "items", 990)
	seen = 0
	for sc.Next() {
		seen++
	}
	if seen != 10 {
		t.Fatalf("scan after 990 saw %d", seen)
	}
}

func TestAccessControl(t *testing.T) {
	rt := open(t, testConfig(t), otherWasm(t), kvWasm(t))
	mustCall(t, rt, "kv", "write_other")
	mustCall(t, rt, "kv", "read_private")
}

func TestNestedCall(t *testing.T) {
	rt := open(t, testConfig(t), otherWasm(t), kvWasm(t))
	var recs []*txn
	rt.commit.(*memCommitter).observe = func(x *txn) { c := *x; c.Mutations = append([]mutation(nil), x.Mutations...); recs = append(recs, &c) }
	mustCall(t, rt, "kv", "call_other", uint64(3), "three")
	if len(recs) != 1 || len(recs[0].Mutations) != 1 || recs[0].Mutations[0].Module != "other" {
		t.Fatalf("nested call records %+v", recs)
	}
	if _, found, _ := rt.Get("other", "items", 3); !found {
		t.Fatal("callee write not committed")
	}
	// A failing callee rolls back the caller's own writes too.
	_, err := call(t, rt, "kv", "put_then_call_fail", uint64(4), "four")
	wantCode(t, err, CodeReducerFailed)
	if !strings.Contains(err.Error(), "other says no") {
		t.Fatalf("message: %v", err)
	}
	if _, found, _ := rt.Get("kv", "items", 4); found {
		t.Fatal("caller write survived a failed callee")
	}
	if len(recs) != 1 {
		t.Fatalf("%d commits", len(recs))
	}
	// Cycle: kv -> other -> kv.
	_, err = call(t, rt, "kv", "call_cycle", uint64(5), "five")
	if !errors.Is(err, ErrCycle) {
		t.Fatalf("cycle: %v", err)
	}
}

func TestLimits(t *testing.T) {
	cfg := testConfig(t).WithCallDeadline(time.Second).WithMemoryLimitPages(128)
	rt := open(t, cfg, kvWasm(t))
	tests := []struct {
		name    string
		reducer string
		code    Code
		is      error
	}{
		{"infinite loop", "spin", CodeTimeout, ErrTimeout},
		{"memory bomb", "bomb", CodeLimit, ErrLimit},
		{"huge row", "huge", CodeReducerFailed, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, rt, "kv", tc.reducer)
			wantCode(t, err, tc.code)
			if !errors.Is(err, tc.is) {
				t.Fatalf("%v is not %v", err, tc.is)
			}
			mustCall(t, rt, "kv", "put", uint64(len(tc.name)), tc.name) // still works
		})
	}
	// Caller's context cancellation.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := rt.Call(ctx, "kv", "spin", row.MustEncode())
	wantCode(t, err, CodeTimeout)
	// Oversized arguments are refused before the guest runs.
	_, err = rt.Call(context.Background(), "kv", "put", make([]byte, DefaultMaxArgsSize+1))
	wantCode(t, err, CodeLimit)
}

func TestBadPointers(t *testing.T) {
	rt := open(t, testConfig(t), otherWasm(t), kvWasm(t))
	res, err := call(t, rt, "kv", "badptr", uint64(1), "x")
	if err != nil {
		t.Fatalf("badptr: %v (%+v)", err, res)
	}
}

func TestArgumentErrors(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	tests := []struct {
		name string
		mod  string
		red  string
		args []byte
		code Code
	}{
		{"unknown module", "nope", "put", row.MustEncode(), CodeNotFound},
		{"unknown reducer", "kv", "nope", row.MustEncode(), CodeNotFound},
		{"wrong type", "kv", "put", row.MustEncode("x", "y"), CodeType},
		{"wrong arity", "kv", "put", row.MustEncode(uint64(1)), CodeType},
		{"malformed", "kv", "put", []byte{1, 2, 3}, CodeBadArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rt.Call(context.Background(), tc.mod, tc.red, tc.args)
			wantCode(t, err, tc.code)
		})
	}
	_, err := rt.CallJSON(context.Background(), "kv", "put", []byte(`{"id": -1, "name": "x"}`))
	wantCode(t, err, CodeType)
	_, _, err = rt.Get("kv", "items", "not a number")
	wantCode(t, err, CodeType)
	_, _, err = rt.Get("kv", "nope", 1)
	wantCode(t, err, CodeNotFound)
}

// TestJSONArgumentsCheckedOnceUnlessTheReducerChanged: CallJSON's Row is
// encoded for the reducer it looked up, and the call skips the second
// check only if the same reducer still runs it; arguments typed for any
// other reducer (one an upgrade replaced meanwhile) are checked again.
func TestJSONArgumentsCheckedOnceUnlessTheReducerChanged(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	bad := row.MustEncode("x", "y") // put takes (u64, string)
	stale := &reducer{name: "put"}  // not the loaded reducer
	if _, err := rt.runCall(context.Background(), "kv", "put", bad, stale); CodeOf(err) != CodeType {
		t.Fatalf("arguments typed for a replaced reducer: %v, want a type error", err)
	}
	good, red, err := rt.argsFromJSON("kv", "put", []byte(`[7, "seven"]`))
	if err != nil || red != rt.modules["kv"].reducerByName["put"] {
		t.Fatalf("argsFromJSON: %v", err)
	}
	if _, err := rt.runCall(context.Background(), "kv", "put", good, red); err != nil {
		t.Fatal(err)
	}
	buf, ok, err := rt.Get("kv", "items", uint64(7))
	if err != nil || !ok {
		t.Fatalf("row 7: %v %v", ok, err)
	}
	if v, err := row.Decode(buf); err != nil || v[1] != "seven" {
		t.Fatalf("row 7: %v %v", v, err)
	}
}
