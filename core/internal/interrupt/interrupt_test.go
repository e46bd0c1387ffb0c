package interrupt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/interstice/interstice/internal/testwasm"
)

// wat compiles WAT source with wat2wasm's default feature set (the
// WebAssembly 2.0 features wazero enables by default) and a name section.
func wat(t testing.TB, src string) []byte {
	t.Helper()
	return wat2wasm(t, src, "--debug-names")
}

// watNoCheck compiles WAT source without validating it.
func watNoCheck(t testing.TB, src string) []byte {
	t.Helper()
	return wat2wasm(t, src, "--no-check")
}

func wat2wasm(t testing.TB, src string, flags ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (Debian package wabt) is not installed")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("wat2wasm", append(flags, "-o", out, in)...).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func featuresWasm(t testing.TB) []byte {
	src, err := os.ReadFile("testdata/features.wat")
	if err != nil {
		t.Fatal(err)
	}
	return wat(t, string(src))
}

func instrument(t testing.TB, wasm []byte) ([]byte, Stats) {
	t.Helper()
	out, st, err := InstrumentStats(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// validate runs wasm-validate on b (skipped without wabt).
func validate(t *testing.T, name string, b []byte) {
	t.Helper()
	if _, err := exec.LookPath("wasm-validate"); err != nil {
		t.Skip("wasm-validate (Debian package wabt) is not installed")
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("wasm-validate", p).CombinedOutput(); err != nil {
		t.Fatalf("wasm-validate %s: %v\n%s", name, err, out)
	}
}

// objdumpCounts disassembles b with wasm-objdump and counts function
// bodies and loop instructions: an independent decoder to compare the
// walker's Stats with.
func objdumpCounts(t *testing.T, b []byte) (funcs, loops int) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.wasm")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("wasm-objdump", "-d", p)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// "0000a1 func[3] <name>:" and " 0000b2: 03 40  | loop"
		if strings.HasSuffix(line, ":") && strings.Contains(line, " func[") && !strings.HasPrefix(line, " ") {
			funcs++
		}
		if i := strings.Index(line, "| "); i >= 0 {
			ins := strings.TrimSpace(line[i+2:])
			if ins == "loop" || strings.HasPrefix(ins, "loop ") {
				loops++
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return funcs, loops
}

// corpus returns every module the repository builds, without duplicates:
// the Go guests of examples/ and tests/modules/go/ (built if stale),
// whatever else build/wasm holds (the WAT test modules that core's tests
// generate from tests/modules/wat) and testdata/features.wat. With -short,
// only one Go guest.
func corpus(t *testing.T) map[string][]byte {
	root := testwasm.Root(t)
	mods := map[string][]byte{"features.wasm": featuresWasm(t)}
	dirs := []string{"tests/modules/go/noop"}
	if !testing.Short() {
		dirs = dirs[:0]
		for _, parent := range []string{"examples", "tests/modules/go"} {
			ents, err := os.ReadDir(filepath.Join(root, parent))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if gos, _ := filepath.Glob(filepath.Join(root, parent, e.Name(), "*.go")); e.IsDir() && len(gos) > 0 {
					dirs = append(dirs, parent+"/"+e.Name())
				}
			}
		}
	}
	seen := map[[32]byte]bool{}
	add := func(name string, b []byte) {
		if sum := sha256.Sum256(b); !seen[sum] {
			seen[sum] = true
			mods[name] = b
		}
	}
	for _, dir := range dirs {
		add(strings.ReplaceAll(dir, "/", "_")+".wasm", testwasm.Go(t, dir))
	}
	files, _ := filepath.Glob(filepath.Join(root, "build", "wasm", "*.wasm"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Short() && len(b) > 1<<20 {
			continue // another Go guest
		}
		add(filepath.Base(f), b)
	}
	return mods
}

// TestCorpusValidates instruments every module of the repository and checks
// the result with wasm-validate and that it is refused a second time; for
// the WAT modules and one Go guest also the walker's counts against
// wasm-objdump's disassembly of the input and that wazero compiles it.
func TestCorpusValidates(t *testing.T) {
	if _, err := exec.LookPath("wasm-objdump"); err != nil {
		t.Skip("wabt is not installed")
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for name, wasm := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			out, st := instrument(t, wasm)
			validate(t, name, out)
			if _, err := Instrument(out); !errors.Is(err, ErrInstrumented) {
				t.Fatalf("instrumenting twice: %v, want ErrInstrumented", err)
			}
			// Disassembling or compiling a Go guest takes seconds: one is
			// enough here (they share the runtime and SDK; core's tests
			// load several instrumented).
			if len(wasm) < 1<<20 || name == "tests_modules_go_noop.wasm" {
				funcs, loops := objdumpCounts(t, wasm)
				if st.Functions != funcs || st.Loops != loops {
					t.Fatalf("walker saw %d functions and %d loops, wasm-objdump %d and %d", st.Functions, st.Loops, funcs, loops)
				}
				c, err := rt.CompileModule(ctx, out)
				if err != nil {
					t.Fatalf("wazero refuses the instrumented module: %v", err)
				}
				c.Close(ctx)
			}
			t.Logf("%d bytes -> %d (+%.1f%%), %d functions, %d loops, %+v",
				len(wasm), len(out), 100*float64(len(out)-len(wasm))/float64(len(wasm)), st.Functions, st.Loops, st)
		})
	}
}

// envWAT provides features.wat's imports: a global and a function that
// it re-exports from the host module.
const envWAT = `(module
  (import "host" "tick" (func $tick (param i32) (result i32)))
  (export "tick" (func $tick))
  (global (export "g") i32 (i32.const 5)))`

// instantiateFeatures instantiates the features module, instrumented or
// not, in a wazero runtime compiled without termination checks.
func instantiateFeatures(t *testing.T, instrumented bool, tick func(int32) int32) (api.Module, api.MutableGlobal) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	if _, err := rt.NewHostModuleBuilder("host").
		NewFunctionBuilder().WithFunc(tick).Export("tick").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.InstantiateWithConfig(ctx, wat(t, envWAT), wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	wasm := featuresWasm(t)
	if instrumented {
		wasm, _ = instrument(t, wasm)
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("features"))
	if err != nil {
		t.Fatal(err)
	}
	var g api.MutableGlobal
	if instrumented {
		g = mod.ExportedGlobal(ExportName).(api.MutableGlobal)
	}
	return mod, g
}

// TestSameResults runs every function of the features module with and
// without instrumentation.
func TestSameResults(t *testing.T) {
	tick := func(n int32) int32 {
		if n > 0 {
			return n - 1
		}
		return 0
	}
	plain, _ := instantiateFeatures(t, false, tick)
	inst, g := instantiateFeatures(t, true, tick)
	calls := []struct {
		name string
		args []uint64
	}{
		{"sum", []uint64{1000}}, {"countdown", []uint64{5}}, {"mix", []uint64{20}},
		{"numeric", nil}, {"bulk", nil}, {"simd", nil}, {"host", []uint64{100}},
		{"fib", []uint64{20}}, {"unreachable_loop", nil},
	}
	ctx := context.Background()
	for _, c := range calls {
		want, err := plain.ExportedFunction(c.name).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := inst.ExportedFunction(c.name).Call(ctx, c.args...)
		if err != nil {
			t.Fatalf("%s instrumented: %v", c.name, err)
		}
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Fatalf("%s: %v instrumented, %v plain", c.name, got, want)
		}
	}
	if v := g.Get(); v != 0 {
		t.Fatalf("interrupt global is %d", v)
	}
}

// TestKill interrupts a pure-compute loop, a loop calling a host import and
// a loop-free exponential recursion by setting the global from another
// goroutine, and checks that a cleared flag lets the module run again.
func TestKill(t *testing.T) {
	forever := func(n int32) int32 { return n } // host never ends the loop
	mod, g := instantiateFeatures(t, true, forever)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		args []uint64
	}{{"spin", nil}, {"host", []uint64{1}}, {"fib", []uint64{80}}} {
		t.Run(c.name, func(t *testing.T) {
			g.Set(0)
			timer := time.AfterFunc(20*time.Millisecond, func() { g.Set(1) })
			defer timer.Stop()
			start := time.Now()
			done := make(chan error, 1)
			go func() {
				_, err := mod.ExportedFunction(c.name).Call(ctx, c.args...)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("%s returned %v, want an unreachable trap", c.name, err)
				}
				t.Logf("%s killed after %v", c.name, time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatalf("%s not killed", c.name)
			}
		})
	}
	g.Set(0)
	res, err := mod.ExportedFunction("sum").Call(ctx, 10)
	if err != nil || res[0] != 45 {
		t.Fatalf("sum after kills: %v %v", res, err)
	}
}

// TestPreemptible checks that a spinning guest does not hold its thread:
// with one P, the test goroutine still gets scheduled while the guest
// spins, a GC (stop-the-world) completes, and the flag then stops the
// guest. Without the periodic poll this test hangs.
func TestPreemptible(t *testing.T) {
	mod, g := instantiateFeatures(t, true, func(n int32) int32 { return n })
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for name, args := range map[string][]uint64{"spin": nil, "fib": {80}, "host": {1}} {
		g.Set(0)
		done := make(chan error, 1)
		go func() {
			_, err := mod.ExportedFunction(name).Call(context.Background(), args...)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond) // needs the P back from the guest
		start := time.Now()
		runtime.GC()
		t.Logf("%s: GC while the guest spins took %v", name, time.Since(start))
		g.Set(1)
		if err := <-done; err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("%s: %v, want an unreachable trap", name, err)
		}
	}
}

// TestRefused checks malformed and unsupported modules are errors.
func TestRefused(t *testing.T) {
	hdr := "\x00asm\x01\x00\x00\x00"
	// A one-function module whose body is given.
	fn := func(body string) []byte {
		b := []byte(hdr)
		b = append(b, 1, 4, 1, 0x60, 0, 0) // type: () -> ()
		b = append(b, 3, 2, 1, 0)          // function 0: type 0
		code := appendU32(nil, 1)
		code = appendU32(code, uint32(len(body)))
		code = append(code, body...)
		b = append(b, 10)
		b = appendU32(b, uint32(len(code)))
		return append(b, code...)
	}
	if _, err := Instrument(fn("\x00\x0b")); err != nil {
		t.Fatalf("minimal module: %v", err)
	}
	for _, tc := range []struct {
		name string
		wasm []byte
		msg  string
	}{
		{"empty", nil, "bad magic"},
		{"version", []byte("\x00asm\x02\x00\x00\x00"), "version"},
		{"section past end", []byte(hdr + "\x01\x05\x00"), "past the end"},
		{"unknown section", []byte(hdr + "\x0e\x00"), "unknown section"},
		{"out of order", []byte(hdr + "\x03\x01\x00\x01\x01\x00"), "out of order"},
		{"tail call", fn("\x00\x12\x00\x0b"), "unsupported opcode 0x12"},
		{"atomics", fn("\x00\xfe\x00\x0b"), "unsupported opcode 0xfe"},
		{"try", fn("\x00\x06\x40\x0b\x0b"), "unsupported opcode 0x06"},
		{"relaxed simd", fn("\x00\xfd\x80\x02\x0b"), "unsupported opcode 0xfd 256"},
		{"unassigned simd", fn("\x00\xfd\x9a\x01\x0b"), "unsupported opcode 0xfd 154"},
		{"unknown 0xfc", fn("\x00\xfc\x12\x0b"), "unsupported opcode 0xfc 18"},
		{"missing end", fn("\x00\x01"), "ends inside a block"},
		{"trailing", fn("\x00\x0b\x01"), "after its final end"},
		{"negative block type", fn("\x00\x03\x41\x0b\x0b"), "bad block type"},
		{"long leb", fn("\x00\x41\x80\x80\x80\x80\x80\x00\x0b"), "longer than 5"},
		{"truncated const", fn("\x00\x44\x00\x00"), "unexpected end"},
		{"bad local type", fn("\x01\x01\x60\x0b"), "value type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Instrument(tc.wasm)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

// TestMissingSections checks that the sections a module lacks (type,
// function, memory, global, export, code) are added in the right place,
// and that the new indices follow the existing ones.
func TestMissingSections(t *testing.T) {
	for _, tc := range []struct {
		name, wat string
		want      Stats
	}{
		{"empty", `(module)`, Stats{Flag: 0, Countdown: 1, Poll: 0, AddMemory: true}},
		{"no memory", `(module (func (loop)) (func))`, Stats{Flag: 0, Countdown: 1, Poll: 2, Functions: 2, Loops: 1, AddMemory: true}},
		{"no globals or exports", `(module (memory 1) (func (loop)) (data (i32.const 0) "x"))`, Stats{Flag: 0, Countdown: 1, Poll: 1, Functions: 1, Loops: 1}},
		{"imports", `(module (import "a" "f" (func)) (import "a" "g" (global i32)) (import "a" "m" (memory 1))
			(global i32 (i32.const 1)) (func (loop (loop))) (export "f" (func 1)))`,
			Stats{Flag: 2, Countdown: 3, Poll: 2, Functions: 1, Loops: 2}},
		{"start", `(module (memory 1) (func $s (loop)) (start $s))`,
			Stats{Flag: 0, Countdown: 1, Poll: 1, Functions: 1, Loops: 1, Start: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, st := instrument(t, wat(t, tc.wat))
			validate(t, "m.wasm", out)
			// Only what the rewrite inserted (the rest describes the module).
			st.ImportedTables, st.ImportedMemories, st.ImportedGlobals = 0, 0, 0
			st.MaxNesting, st.MaxLoopNesting, st.CodeCost, st.MaxBodyBytes, st.MaxLocals = 0, 0, 0, 0, 0
			if st != tc.want {
				t.Fatalf("got %+v, want %+v", st, tc.want)
			}
		})
	}
}

// TestDropsDebugSections checks that DWARF sections are dropped and the
// name section kept.
func TestDropsDebugSections(t *testing.T) {
	wasm := wat(t, `(module (func $f (loop)))`)
	custom := func(name, data string) []byte {
		b := appendU32(nil, uint32(len(name)))
		b = append(b, name...)
		b = append(b, data...)
		return append(appendU32([]byte{0}, uint32(len(b))), b...)
	}
	wasm = append(bytes.Clone(wasm), custom(".debug_info", "xx")...)
	wasm = append(wasm, custom("producers", "\x00")...)
	out, _ := instrument(t, wasm)
	if bytes.Contains(out, []byte(".debug_info")) || !bytes.Contains(out, []byte("producers")) {
		t.Fatal("custom sections not filtered as documented")
	}
	if !bytes.Contains(out, []byte("name")) {
		t.Fatal("name section dropped")
	}
}

// checkProperty is the fuzz property: Instrument never panics; when it
// succeeds its output is refused as already instrumented, and when wazero
// compiles the input it compiles the output too.
func checkProperty(t *testing.T, rt wazero.Runtime, in []byte) {
	out, st, err := InstrumentStats(in)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		return
	}
	if _, err := Instrument(out); !errors.Is(err, ErrInstrumented) {
		t.Fatalf("instrumenting twice: %v", err)
	}
	if rt == nil {
		return
	}
	ctx := context.Background()
	cin, errIn := rt.CompileModule(ctx, in)
	cout, errOut := rt.CompileModule(ctx, out)
	switch {
	case errIn == nil && errOut != nil:
		t.Fatalf("wazero compiles the input but not the output (%+v): %v", st, errOut)
	case errIn != nil && errOut == nil:
		// The module is checked as written: it must not become valid
		// by being instrumented.
		t.Fatalf("wazero compiles the output but not the input (%+v): %v", st, errIn)
	}
	if cin != nil {
		cin.Close(ctx)
	}
	if cout != nil {
		cout.Close(ctx)
	}
}

func FuzzInstrument(f *testing.F) {
	f.Add(featuresWasm(f))
	f.Add(wat(f, `(module (memory 1) (func (loop)) (data (i32.const 0) "x"))`))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, in []byte) { checkProperty(t, rt, in) })
}

// TestMutations is the fuzz property on random mutations of the features
// module (flipped, inserted, deleted and truncated bytes), run on every
// go test.
func TestMutations(t *testing.T) {
	base := featuresWasm(t)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	rnd := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	ok := 0
	for i := 0; i < n; i++ {
		b := bytes.Clone(base)
		for k := 1 + rnd.IntN(3); k > 0; k-- {
			p := rnd.IntN(len(b))
			switch rnd.IntN(4) {
			case 0:
				b[p] ^= byte(1 << rnd.IntN(8))
			case 1:
				b[p] = byte(rnd.IntN(256))
			case 2:
				b = append(b[:p], b[p+1:]...)
			case 3:
				b = b[:p]
			}
			if len(b) == 0 {
				break
			}
		}
		if _, err := Instrument(b); err == nil {
			ok++
		}
		// Compiling is slow: check the wazero property on a sample.
		if i%20 == 0 {
			checkProperty(t, rt, b)
		} else {
			checkProperty(t, nil, b)
		}
	}
	t.Logf("%d of %d mutants instrumented", ok, n)
}

func BenchmarkInstrumentGoGuest(b *testing.B) {
	wasm := testwasm.Go(b, "tests/modules/go/noop")
	b.SetBytes(int64(len(wasm)))
	for i := 0; i < b.N; i++ {
		if _, err := Instrument(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
