package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/interstice/interstice/core/internal/interrupt"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

// Tests of call deadlines enforced through the interrupt flag compiled into
// guests (package interrupt, RATIONALE.md "Why an interrupt flag compiled
// into the guest?").

func spinSchema() sdesc {
	return sdesc{abi: 1, name: "spin", version: "1.0.0",
		tables:   []tdef{{name: "items", cols: itemCols, public: true}},
		reducers: []rdef{{"noop", nil}, {"spin", nil}, {"spin_host", nil}, {"fib", nil}, {"work", nil}}}
}

// spinWasm is tests/modules/wat/spin.wat; mode 1 spins in _initialize, 2
// in interstice_describe, 3 in the start function.
func spinWasm(t testing.TB, mode byte) []byte {
	return watModule(t, "spin.wat", map[string][]byte{"SCHEMA": spinSchema().build(), "MODE": {mode}})
}

// TestDeadlineKillsLoops checks that a pure-compute loop, a loop calling a
// host import and a loop-free exponential recursion are all stopped by the
// deadline and by the caller's context, and that the module works
// afterwards (including a bounded loop far longer than the poll interval).
func TestDeadlineKillsLoops(t *testing.T) {
	const d = 100 * time.Millisecond
	rt := open(t, testConfig(t).WithCallDeadline(d), spinWasm(t, 0))
	for _, red := range []string{"spin", "spin_host", "fib"} {
		t.Run(red, func(t *testing.T) {
			start := time.Now()
			_, err := call(t, rt, "spin", red)
			took := time.Since(start)
			wantCode(t, err, CodeTimeout)
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "deadline") {
				t.Fatalf("%v", err)
			}
			if took < d || took > d+time.Second {
				t.Fatalf("killed after %v with a %v deadline", took, d)
			}
			mustCall(t, rt, "spin", "noop")
			mustCall(t, rt, "spin", "work")

			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			start = time.Now()
			_, err = rt.Call(ctx, "spin", red, row.MustEncode())
			wantCode(t, err, CodeTimeout)
			// "cancelled", not "deadline", says the cancellation stopped it;
			// the time bound is loose because a loaded machine (make test
			// runs two packages on 2 cores) can fire the timer late.
			if !strings.Contains(err.Error(), "cancelled") || time.Since(start) > d+time.Second {
				t.Fatalf("after %v: %v", time.Since(start), err)
			}
			mustCall(t, rt, "spin", "work")
		})
	}
}

// TestDeadlineBoundsInit checks that _initialize, interstice_describe and
// the start function run under the call deadline too.
func TestDeadlineBoundsInit(t *testing.T) {
	rt := open(t, testConfig(t).WithCallDeadline(100*time.Millisecond))
	for _, mode := range []byte{1, 2, 3} {
		start := time.Now()
		_, err := rt.LoadModule(spinWasm(t, mode))
		wantCode(t, err, CodeTimeout)
		if time.Since(start) > 2*time.Second {
			t.Fatalf("mode %d: refused after %v", mode, time.Since(start))
		}
	}
	if _, err := rt.LoadModule(spinWasm(t, 0)); err != nil {
		t.Fatal(err)
	}
}

// TestReservedExport checks that a module exporting the interrupt flag's
// name (here: one instrumented already) is refused under a deadline and
// loads without one.
func TestReservedExport(t *testing.T) {
	wasm, err := interrupt.Instrument(kvWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := open(t, testConfig(t))
	_, err = rt.LoadModule(wasm)
	wantCode(t, err, CodeInvalidWasm)
	if !strings.Contains(err.Error(), interrupt.ExportName) {
		t.Fatal(err)
	}
	open(t, testConfig(t).WithCallDeadline(0), wasm)
}

// TestDeadlineGoGuest kills a Go guest's infinite loop (with a row insert
// before it, which must roll back) and checks the guest works afterwards.
func TestDeadlineGoGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	rt := open(t, testConfig(t).WithCallDeadline(200*time.Millisecond), testwasm.Go(t, "tests/modules/go/limits"))
	for _, tc := range []struct {
		red  string
		args []any
	}{{"spin", nil}, {"spin_after_insert", []any{uint64(7)}}, {"spin", nil}} {
		_, err := call(t, rt, "limits", tc.red, tc.args...)
		wantCode(t, err, CodeTimeout)
		mustCall(t, rt, "limits", "echo_len", []byte("still works"))
	}
	mustCall(t, rt, "limits", "recurse", uint32(1000))
	var n int
	for _, tbl := range rt.modules["limits"].tables {
		n += tbl.Tree.Len()
	}
	if n != 1 { // echo_len's row {id: 11}; spin_after_insert's rolled back
		t.Fatalf("%d rows after killed calls, want 1", n)
	}
}
