package core

import (
	"os"
	"testing"
	"time"

	"github.com/interstice/interstice/core/internal/engine"
	"github.com/interstice/interstice/core/internal/interrupt"
)

// wasmBuilder assembles test modules byte by byte (shapes too large or
// too regular for WAT files).
func uleb(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func wasmSection(m []byte, id byte, body []byte) []byte {
	m = append(m, id)
	m = uleb(m, uint64(len(body)))
	return append(m, body...)
}

// genModule returns a module with a memory and funcs bodies of type
// () -> (), each the given body (locals included).
func genModule(funcs int, body []byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = wasmSection(m, 1, []byte{1, 0x60, 0, 0})
	fs := uleb(nil, uint64(funcs))
	for i := 0; i < funcs; i++ {
		fs = append(fs, 0)
	}
	m = wasmSection(m, 3, fs)
	m = wasmSection(m, 5, []byte{1, 0, 1})
	code := uleb(nil, uint64(funcs))
	for i := 0; i < funcs; i++ {
		code = uleb(code, uint64(len(body)))
		code = append(code, body...)
	}
	return wasmSection(m, 10, code)
}

// nested is a body of depth nested blocks (op 0x02) or loops (0x03).
func nested(depth int, op byte) []byte {
	b := []byte{0}
	for i := 0; i < depth; i++ {
		b = append(b, op, 0x40)
	}
	for i := 0; i <= depth; i++ {
		b = append(b, 0x0b)
	}
	return b
}

// flat is a body of about n bytes of straight-line code.
func flat(n int) []byte {
	b := []byte{0}
	for len(b)+4 < n {
		b = append(b, 0x41, 0x00, 0x1a) // i32.const 0; drop
	}
	return append(b, 0x0b)
}

// TestDeepNestingRefusedBeforeCompile checks that modules whose
// compilation would be unbounded (100k nested blocks took > 15 s) are
// refused with CodeLimit before wazero sees them, quickly, naming the
// limit.
func TestDeepNestingRefusedBeforeCompile(t *testing.T) {
	hugeLocals := []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b} // 2^32-1 i32 locals
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"100k nested blocks", genModule(1, nested(100000, 0x02)), "nested deeper"},
		{"nesting limit + 1", genModule(1, nested(engine.MaxNesting+1, 0x03)), "nested deeper"},
		{"many deep bodies", genModule(200, nested(engine.MaxNesting, 0x02)), "code cost"},
		{"2^32-1 locals", genModule(1, hugeLocals), "locals"},
		{"body over 1 MiB", genModule(1, flat(engine.MaxFunctionBytes+16)), "body of"},
		{"module over 16 MiB", genModule(17, flat(engine.MaxFunctionBytes-16)), "module of"},
		{"too many functions", genModule(engine.MaxFunctions+1, []byte{0, 0x0b}), "functions exceed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := open(t, NewConfig())
			start := time.Now()
			_, err := rt.LoadModule(tc.wasm)
			took := time.Since(start)
			wantCode(t, err, CodeLimit)
			if !contains(err.Error(), tc.want) || !contains(err.Error(), "limit") {
				t.Fatalf("error does not name the limit (%q): %v", tc.want, err)
			}
			if took > 2*time.Second {
				t.Fatalf("refusing took %v", took)
			}
			t.Logf("%v in %v", err, took)
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestLargestAcceptedModuleCompileTime compiles, cold, the largest
// modules the limits accept in two shapes: bodies nested to the limit
// until the code cost budget is spent, and 16 MiB of straight-line code.
// Set INTERSTICE_MEASURE=1 to run it (it takes seconds; the figures go
// into RATIONALE.md).
func TestLargestAcceptedModuleCompileTime(t *testing.T) {
	if os.Getenv("INTERSTICE_MEASURE") == "" {
		t.Skip("set INTERSTICE_MEASURE=1")
	}
	// most repeats body as often as the code cost budget allows.
	most := func(body []byte, depth, loops int) []byte {
		return genModule(engine.MaxCodeCost/(len(body)*(depth+interrupt.LoopWeight*loops)), body)
	}
	for _, tc := range []struct {
		name string
		wasm []byte
	}{
		{"blocks nested 2048 deep", most(nested(engine.MaxNesting, 0x02), engine.MaxNesting, 0)},
		{"loops nested 256 deep", most(nested(256, 0x03), 256, 256)},
		{"loops nested 2048 deep", most(nested(engine.MaxNesting, 0x03), engine.MaxNesting, engine.MaxNesting)},
		{"flat 16 MiB", genModule(16, flat(engine.MaxFunctionBytes-64))},
	} {
		for _, d := range []time.Duration{time.Second, 0} {
			t.Run(tc.name+"/deadline="+d.String(), func(t *testing.T) {
				rt := open(t, NewConfig().WithCompilationCacheDir(t.TempDir()).WithCallDeadline(d))
				start := time.Now()
				c, err := rt.compile(tc.wasm)
				took := time.Since(start)
				// The module lacks the ABI exports: compiled, then refused.
				if err != nil && CodeOf(err) != CodeMissingExport {
					t.Fatal(err)
				}
				if c != nil {
					c.Close(t.Context())
				}
				t.Logf("%d bytes: compiled in %v", len(tc.wasm), took)
			})
		}
	}
}
