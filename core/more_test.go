package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/row"
)

func TestSubscriptionOrder(t *testing.T) {
	rt := open(t, testConfig(t), otherWasm(t), kvWasm(t), watchWasm(t))
	var events []string
	if _, err := rt.Subscribe("watch", "seen", EventInsert, func(e Event) {
		v, _ := row.Decode(e.New)
		events = append(events, fmt.Sprintf("%d%s@%d", v[0], v[1], e.LSN))
	}); err != nil {
		t.Fatal(err)
	}
	var kvEvents int
	cancel, _ := rt.Subscribe("kv", "items", EventInsert, func(Event) { kvEvents++ })
	// One root transaction with two inserts (kv.put3_* need a commit: use
	// call_other + put via two calls instead): two kv inserts in one call.
	res := mustCall(t, rt, "kv", "ryw") // inserts row 1
	if len(res.Cascade) != 2 || res.CascadeErr != nil {
		t.Fatalf("cascade %+v", res)
	}
	res = mustCall(t, rt, "kv", "put", uint64(2), "b")
	want := []string{"1a@5", "2b@6", "3a@8", "4b@9"} // LSN 1-3: module loads
	if fmt.Sprint(events) != fmt.Sprint(want) || kvEvents != 2 {
		t.Fatalf("events %v (kv %d), want %v", events, kvEvents, want)
	}
	if res.Cascade[0].Reducer != "on_a" || res.Cascade[1].Reducer != "on_b" || res.Cascade[1].LSN != 9 {
		t.Fatalf("cascade %+v", res.Cascade)
	}
	cancel()
	mustCall(t, rt, "kv", "put", uint64(3), "c")
	if kvEvents != 2 {
		t.Fatal("callback ran after cancel")
	}
}

func TestCascadeDepthLimit(t *testing.T) {
	for _, depth := range []int{0, 1, 8} {
		t.Run(fmt.Sprint("depth ", depth), func(t *testing.T) {
			rt := open(t, testConfig(t).WithMaxCascadeDepth(depth), chainWasm(t))
			res := mustCall(t, rt, "chain", "start")
			if n := count(t, rt, "chain", "c"); n != depth+1 {
				t.Fatalf("%d rows, want %d", n, depth+1)
			}
			if !errors.Is(res.CascadeErr, ErrLimit) {
				t.Fatalf("cascade error %v", res.CascadeErr)
			}
			if len(res.Cascade) != depth+1 || res.Cascade[depth].Err == nil {
				t.Fatalf("cascade %+v", res.Cascade)
			}
		})
	}
}

// encodeTxn encodes a record as an fb.Transaction (the determinism test
// compares these bytes).
func encodeTxn(x *txn) []byte {
	return append([]byte(nil), record.Encode(flatbuffers.NewBuilder(256), x)...)
}

func TestDeterminism(t *testing.T) {
	mods := [][]byte{otherWasm(t), kvWasm(t), watchWasm(t)}
	run := func() [][]byte {
		// The same clock in both runs (a counter from a fixed instant):
		// with it, the logs must be byte for byte the same.
		tick := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { tick = tick.Add(time.Millisecond); return tick }
		rt := open(t, testConfig(t).WithClock(clock))
		var log [][]byte
		rt.commit.(*memCommitter).observe = func(x *txn) { log = append(log, encodeTxn(x)) }
		for _, m := range mods {
			if _, err := rt.LoadModule(m); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 20; i++ {
			data := append([]byte("RAND"), make([]byte, 20)...)
			mustCall(t, rt, "kv", "rand_clock", uint64(i), data)
			mustCall(t, rt, "kv", "put", uint64(i), "x")
			if i%5 == 0 {
				call(t, rt, "kv", "put3_trap")
				mustCall(t, rt, "kv", "call_other", uint64(i), "y")
			}
		}
		return log
	}
	a, b := run(), run()
	if len(a) != len(b) || len(a) < 60 {
		t.Fatalf("%d vs %d records", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	// The guest really saw random bytes and its transaction's time: the
	// host clock's reading, which the call reports and the log records.
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	rt := open(t, testConfig(t).WithClock(func() time.Time { return at }), mods...)
	res1 := mustCall(t, rt, "kv", "rand_clock", uint64(1), append([]byte("RAND"), make([]byte, 20)...))
	mustCall(t, rt, "kv", "rand_clock", uint64(2), append([]byte("RAND"), make([]byte, 20)...))
	r1, _, _ := rt.Get("kv", "blobs", 1)
	r2, _, _ := rt.Get("kv", "blobs", 2)
	d1, _ := row.Field(r1, 1)
	d2, _ := row.Field(r2, 1)
	b1, b2 := d1.([]byte), d2.([]byte)
	if bytes.Equal(b1[:16], b2[:16]) || bytes.Equal(b1[:16], make([]byte, 16)) {
		t.Fatalf("random bytes %x %x", b1[:16], b2[:16])
	}
	// The clock stands still, so the runtime made the time strictly
	// increasing: three module loads took at, at+1ns and at+2ns.
	if got, want := binary.LittleEndian.Uint64(b1[16:24]), uint64(at.UnixNano())+3; got != want || res1.Timestamp != want {
		t.Fatalf("the guest read %d, the call's timestamp is %d, want %d", got, res1.Timestamp, want)
	}
}

func TestBadModules(t *testing.T) {
	good := kvSchema()
	mutate := func(f func(*sdesc)) []byte {
		d := kvSchema()
		d.tables = append([]tdef(nil), d.tables...)
		d.reducers = append([]rdef(nil), d.reducers...)
		f(&d)
		return watModule(t, "minimal.wat", map[string][]byte{"SCHEMA": d.build()})
	}
	_ = good
	tests := []struct {
		name string
		wasm []byte
		code Code
	}{
		{"invalid wasm bytes", []byte("not wasm at all"), CodeInvalidWasm},
		{"empty", nil, CodeInvalidWasm},
		{"missing describe", watModule(t, "missing_describe.wat", nil), CodeMissingExport},
		{"missing alloc", watModule(t, "missing_alloc.wat", nil), CodeMissingExport},
		{"missing call", watModule(t, "missing_call.wat", nil), CodeMissingExport},
		{"wasi command, not reactor", watModule(t, "command.wat", map[string][]byte{"SCHEMA": good.build()}), CodeMissingExport},
		{"unknown import", watModule(t, "bad_import.wat", nil), CodeBadImport},
		{"describe out of bounds", watModule(t, "describe_oob.wat", nil), CodeMalformed},
		{"malformed schema", watModule(t, "minimal.wat", map[string][]byte{"SCHEMA": bytes.Repeat([]byte{0xff, 0x7f, 0, 0}, 8)}), CodeMalformed},
		{"truncated schema", watModule(t, "minimal.wat", map[string][]byte{"SCHEMA": good.build()[:40]}), CodeMalformed},
		{"abi version", mutate(func(d *sdesc) { d.abi = 2 }), CodeABIVersion},
		{"bad module name", mutate(func(d *sdesc) { d.name = "k-v" }), CodeBadName},
		{"bad version", mutate(func(d *sdesc) { d.version = "1.0" }), CodeBadName},
		{"bad table name", mutate(func(d *sdesc) { d.tables[0].name = "1items" }), CodeBadName},
		{"duplicate table", mutate(func(d *sdesc) { d.tables[1].name = "items" }), CodeDuplicateName},
		{"duplicate reducer", mutate(func(d *sdesc) { d.reducers[1].name = "put" }), CodeDuplicateName},
		{"duplicate column", mutate(func(d *sdesc) {
			d.tables[0].cols = []cdef{{"id", ty("u64")}, {"id", ty("string")}}
		}), CodeDuplicateName},
		{"unknown column type", mutate(func(d *sdesc) {
			d.tables[0].cols = []cdef{{"id", ty("u64")}, {"x", row.Type{Kind: 42}}}
		}), CodeUnknownType},
		{"null column type", mutate(func(d *sdesc) {
			d.tables[0].cols = []cdef{{"id", ty("u64")}, {"x", row.Type{}}}
		}), CodeUnknownType},
		{"primary key out of range", mutate(func(d *sdesc) { d.tables[0].pk = 5 }), CodeBadPrimaryKey},
		{"float primary key", mutate(func(d *sdesc) {
			d.tables[0].cols = []cdef{{"id", ty("f64")}}
		}), CodeBadPrimaryKey},
		{"optional primary key", mutate(func(d *sdesc) {
			d.tables[0].cols = []cdef{{"id", ty("u64?")}}
		}), CodeBadPrimaryKey},
		{"subscription to unknown reducer", mutate(func(d *sdesc) {
			d.subs = []sdef{{"kv", "items", fb.EventInsert, "nope"}}
		}), CodeBadSubscription},
		{"subscriber with wrong params", mutate(func(d *sdesc) {
			d.subs = []sdef{{"kv", "items", fb.EventInsert, "put"}}
		}), CodeBadSubscription},
		{"subscription to unloaded module", mutate(func(d *sdesc) {
			d.reducers = append(d.reducers, rdef{"on", subParams})
			d.subs = []sdef{{"ghost", "t", fb.EventInsert, "on"}}
		}), CodeBadSubscription},
	}
	rt := open(t, testConfig(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rt.LoadModule(tc.wasm)
			wantCode(t, err, tc.code)
			if tc.code >= CodeMalformed && !errors.Is(err, ErrSchema) {
				t.Fatalf("%v is not ErrSchema", err)
			}
		})
	}
	if len(rt.Modules()) != 0 {
		t.Fatal("a bad module was registered")
	}
	// Reload rules.
	if _, err := rt.LoadModule(kvWasm(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.LoadModule(kvWasm(t)); err != nil {
		t.Fatalf("same module again: %v", err)
	}
	_, err := rt.LoadModule(mutate(func(d *sdesc) {}))
	wantCode(t, err, CodeIncompatible)
	// A new version with the same tables is an upgrade (migrate_test.go).
	if info, err := rt.LoadModule(mutate(func(d *sdesc) { d.version = "1.1.0" })); err != nil || info.Version != "1.1.0" {
		t.Fatalf("upgrade: %v %v", info, err)
	}
	if _, js, err := rt.Describe("kv"); err != nil || !bytes.Contains(js, []byte(`"primary_key":"id"`)) {
		t.Fatalf("describe %s %v", js, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero config", Config{}},
		{"negative deadline", NewConfig().WithCallDeadline(-1)},
		{"negative sync interval", NewConfig().WithSyncInterval(-1)},
		{"zero pages", NewConfig().WithMemoryLimitPages(0)},
		{"tiny rows", NewConfig().WithMaxRowSize(1)},
		{"negative depth", NewConfig().WithMaxCascadeDepth(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.cfg)
			wantCode(t, err, CodeBadArgument)
		})
	}
	rt, err := Open(NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	rt.Close()
	_, err = rt.Call(context.Background(), "kv", "put", nil)
	wantCode(t, err, CodeClosed)
}

// TestHammer runs many callers and readers at once; run it with -race.
func TestHammer(t *testing.T) {
	rt := open(t, testConfig(t), otherWasm(t), kvWasm(t), watchWasm(t))
	var hooked atomic.Int64
	rt.Subscribe("kv", "items", EventAll, func(Event) { hooked.Add(1) })
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				id := uint64(w*perWriter + i + 10)
				if _, err := call(t, rt, "kv", "put", id, "h"); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					call(t, rt, "kv", "put3_trap")
				}
			}
		}(w)
	}
	var readers sync.WaitGroup
	for r := 0; r < 3; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, _ := rt.Count("kv", "items")
				sc, _ := rt.Scan("kv", "items", nil)
				seen := 0
				for sc.Next() {
					seen++
				}
				if seen < n {
					t.Errorf("scan saw %d rows after count %d", seen, n)
				}
				rt.Get("kv", "items", 10)
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if n := count(t, rt, "kv", "items"); n != writers*perWriter {
		t.Fatalf("%d rows", n)
	}
	if hooked.Load() != writers*perWriter || count(t, rt, "watch", "seen") != 2*writers*perWriter {
		t.Fatalf("hooks %d seen %d", hooked.Load(), count(t, rt, "watch", "seen"))
	}
}

// TestWASICommandNamesTheFix loads a module built as a WASI command (as Go
// builds a guest without -buildmode=c-shared): the error says how to build
// it instead of trapping "before runtime initialization" in describe.
func TestWASICommandNamesTheFix(t *testing.T) {
	rt := open(t, testConfig(t))
	good := kvSchema()
	_, err := rt.LoadModule(watModule(t, "command.wat", map[string][]byte{"SCHEMA": good.build()}))
	wantCode(t, err, CodeMissingExport)
	if !strings.Contains(err.Error(), "-buildmode=c-shared") || !strings.Contains(err.Error(), "_start") {
		t.Fatalf("error does not name the fix: %v", err)
	}
}
