package interrupt

import (
	"errors"
	"strings"
	"testing"
)

// TestStrictIndices checks that indices the rewrite would make valid are
// refused as written, instrumenting or not.
func TestStrictIndices(t *testing.T) {
	for _, tc := range []struct{ name, wat, want string }{
		{"global.set of the countdown", `(module (memory 1) (func (global.set 1 (i32.const 5))))`, "global index 1"},
		{"global.get of the flag", `(module (memory 1) (func (drop (global.get 0))))`, "global index 0"},
		{"call of $poll", `(module (memory 1) (func (call 1)))`, "function index 1"},
		{"ref.func of $poll", `(module (memory 1) (func (drop (ref.func 1))))`, "function index 1"},
		{"call_indirect of the poll type", `(module (memory 1) (table 1 funcref) (func (call_indirect (type 1) (i32.const 0))))`, "type index 1"},
		{"export of the flag", `(module (memory 1) (export "g" (global 0)))`, "export"},
		{"element of $poll", `(module (memory 1) (table 1 funcref) (func) (elem (i32.const 0) func 1))`, "function index 1"},
		{"start of another type", `(module (memory 1) (func $s (param i32)) (start $s))`, "start function"},
		{"start out of range", `(module (memory 1) (start 0))`, "start function"},
		{"load without a memory", `(module (func (drop (i32.load (i32.const 0)))))`, "without a memory"},
		{"memory.fill without a memory", `(module (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))`, "without a memory"},
		{"active data without a memory", `(module (data (i32.const 0) ""))`, "without a memory"},
	} {
		for _, instrument := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := Prepare(watNoCheck(t, tc.wat), Options{Instrument: instrument})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an error with %q", err, tc.want)
				}
			})
		}
	}
}

// TestStrictBlockType checks that a block of the type the rewrite appends
// (index 1 here) is refused (wat2wasm cannot write one).
func TestStrictBlockType(t *testing.T) {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, 1, 4, 1, 0x60, 0, 0) // type 0: () -> ()
	m = append(m, 3, 2, 1, 0)          // func 0: type 0
	m = append(m, 5, 3, 1, 0, 1)       // memory 1
	m = append(m, 10, 7, 1, 5, 0, opBlock, 1, opEnd, opEnd)
	if _, _, err := Prepare(m, Options{Instrument: true}); err == nil || !strings.Contains(err.Error(), "bad block type 1") {
		t.Fatalf("got %v", err)
	}
	m[len(m)-3] = 0 // type 0: valid
	if _, _, err := Prepare(m, Options{Instrument: true}); err != nil {
		t.Fatal(err)
	}
}

// TestLimits checks each limit and that table maxima are lowered to the
// table budget (and the result still validates).
func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name, wat string
		lim       Limits
		want      string
	}{
		{"module bytes", `(module (memory 1) (func) (func))`, Limits{ModuleBytes: 10}, "module of"},
		{"functions", `(module (func) (func) (func))`, Limits{Functions: 2}, "functions exceed"},
		{"types", `(module (type (func)) (type (func (param i32))))`, Limits{Types: 1}, "types exceed"},
		{"globals", `(module (global i32 (i32.const 0)) (global i32 (i32.const 0)))`, Limits{Globals: 1}, "globals exceed"},
		{"tables", `(module (table 1 funcref) (table 1 funcref))`, Limits{Tables: 1}, "tables exceed"},
		{"body bytes", `(module (func (nop) (nop) (nop) (nop) (nop) (nop)))`, Limits{FunctionBytes: 4}, "body of"},
		{"locals", `(module (func (local i32 i32 i64)))`, Limits{Locals: 2}, "locals"},
		{"nesting", `(module (func (block (loop (block)))))`, Limits{Nesting: 2}, "nested deeper"},
		{"code cost", `(module (func (loop (nop))))`, Limits{CodeCost: 10}, "code cost"},
		{"table minimum", `(module (table 100 funcref))`, Limits{TableElements: 50}, "exceed the limit of 50"},
		{"element segments", `(module (table 1 funcref) (func) (elem (i32.const 0) func 0 0 0))`, Limits{TableElements: 3}, "exceed the limit of 3"},
		{"memory minimum", `(module (memory 10))`, Limits{MemoryPages: 4}, "memory minimum"},
		{"memory maximum", `(module (memory 1 10))`, Limits{MemoryPages: 4}, "memory maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Prepare(wat(t, tc.wat), Options{Instrument: true, Limits: tc.lim})
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrLimit with %q", err, tc.want)
			}
		})
	}
	t.Run("table maxima lowered", func(t *testing.T) {
		in := wat(t, `(module (memory 1) (table 10 funcref) (table 5 8 funcref) (table 2 100 funcref) (func (loop)))`)
		for _, instrument := range []bool{true, false} {
			out, st, err := Prepare(in, Options{Instrument: instrument, Limits: Limits{TableElements: 20}})
			if err != nil {
				t.Fatal(err)
			}
			validate(t, "m.wasm", out)
			if st.TableElements != 20 {
				t.Fatalf("table elements %d, want 20", st.TableElements)
			}
			// The first table takes the spare 3 (20 - 10 - 5 - 2).
			if want := []byte{3, 0x70, 1, 10, 13, 0x70, 1, 5, 5, 0x70, 1, 2, 2}; !strings.Contains(string(out), string(want)) {
				t.Fatalf("instrument=%v: no table section % x in the output", instrument, want)
			}
		}
	})
	t.Run("unchanged without tables", func(t *testing.T) {
		in := wat(t, `(module (memory 1) (func))`)
		out, _, err := Prepare(in, Options{Limits: Limits{TableElements: 20}})
		if err != nil || &out[0] != &in[0] {
			t.Fatalf("Prepare copied or failed: %v", err)
		}
	})
}
