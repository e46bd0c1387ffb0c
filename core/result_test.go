package core

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestCallResultJSON: the one JSON form of a CallResult (C ABI out_result,
// CLI call --json) parses back to the same facts, writes errors without
// Go's "core: " prefix, escapes names, and is what encoding/json writes.
func TestCallResultJSON(t *testing.T) {
	res := CallResult{LSN: 7, Timestamp: 9, Mutations: 2,
		Cascade: []CascadeCall{
			{Module: "m", Reducer: `on"insert`, Depth: 1, LSN: 8},
			{Module: "m", Reducer: "on_delete", Depth: 2, Err: &Error{Code: CodeReducerFailed, Module: "m", Reducer: "on_delete", GuestMsg: "refused"}},
		},
	}
	res.CascadeErr = res.Cascade[1].Err
	b := res.AppendJSON(nil)
	var got struct {
		LSN, Timestamp uint64
		Mutations      int
		Cascade        []struct {
			Module, Reducer string
			Depth           int
			LSN             uint64
			Error           *string
		}
		CascadeError *string `json:"cascade_error"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.LSN != 7 || got.Timestamp != 9 || got.Mutations != 2 || len(got.Cascade) != 2 {
		t.Fatalf("round trip: %+v from %s", got, b)
	}
	if c := got.Cascade[0]; c.Reducer != `on"insert` || c.Depth != 1 || c.LSN != 8 || c.Error != nil {
		t.Errorf("first subscriber: %+v", c)
	}
	want := `reducer failed: refused (module m, reducer on_delete)`
	if e := got.Cascade[1].Error; e == nil || *e != want {
		t.Errorf("subscriber error %v, want %q", e, want)
	}
	if got.CascadeError == nil || *got.CascadeError != want {
		t.Errorf("cascade_error %v, want %q", got.CascadeError, want)
	}
	m, err := json.Marshal(res)
	if err != nil || string(m) != string(b) {
		t.Errorf("json.Marshal = %s, %v; want %s", m, err, b)
	}
	if s := ErrorText(errors.New("plain")); s != "plain" {
		t.Errorf("ErrorText of a plain error: %q", s)
	}
	if s := string(CallResult{}.AppendJSON(nil)); s != `{"lsn":0,"timestamp":0,"mutations":0,"cascade":[],"cascade_error":null}` {
		t.Errorf("empty result: %s", s)
	}
}

// TestCompilationCachePassedIn: a cache passed in is shared by runtimes
// and outlives their Close (a second runtime loads from it after the
// first closed); closing it is its owner's job.
func TestCompilationCachePassedIn(t *testing.T) {
	cache, err := NewCompilationCache("")
	if err != nil {
		t.Fatal(err)
	}
	wasm := kvWasm(t)
	for i := 0; i < 2; i++ {
		rt, err := Open(NewConfig().WithCompilationCache(cache))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.LoadModule(wasm); err != nil {
			t.Fatalf("runtime %d: load with the shared cache: %v", i, err)
		}
		if err := rt.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cache.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewCompilationCache(string([]byte{0})); CodeOf(err) != CodeBadArgument {
		t.Errorf("NewCompilationCache with a bad dir: %v, want CodeBadArgument", err)
	}
}
