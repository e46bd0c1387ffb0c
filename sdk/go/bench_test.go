//go:build !wasip1

package sdk_test

import (
	"context"
	"testing"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/row"
)

// Reducer calls of Go SDK guests on the real host (core, in memory), with
// the default config (5 s deadline: core's interrupt checks compiled in)
// and with WithCallDeadline(0). Run with
//
//	go test ./sdk/go/ -run '^$' -bench 'Core' -benchtime 200000x
//
// Insert keys never repeat, so the kv table grows over the run, as in a
// real workload.

func openCore(b *testing.B, cfg core.Config, pkg string) *core.Runtime {
	b.Helper()
	rt, err := core.Open(cfg.WithCompilationCacheDir(testwasm.CacheDir(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	if _, err := rt.LoadModule(testwasm.Go(b, pkg)); err != nil {
		b.Fatal(err)
	}
	return rt
}

type benchCall struct {
	reducer string
	args    func(i int) []any // nil: no arguments
}

// insertArgs are the arguments of noop's insert: a key, a short name and a
// value.
func insertArgs(i int) []any { return []any{uint64(i), "name", int64(i)} }

func runCalls(b *testing.B, rt *core.Runtime, module string, c benchCall) {
	ctx := context.Background()
	bufs := make([][]byte, 4096)
	fill := func(from int) {
		for k := range bufs {
			var vals []any
			if c.args != nil {
				vals = c.args(from + k)
			}
			bufs[k] = row.MustEncode(vals...)
		}
	}
	fill(0)
	// Warm up: the first call grows guest memory and resolves the table.
	if _, err := rt.Call(ctx, module, c.reducer, row.MustEncode(argsOr(c, -1)...)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bufs)
		if j == 0 && i > 0 {
			b.StopTimer()
			fill(i)
			b.StartTimer()
		}
		if _, err := rt.Call(ctx, module, c.reducer, bufs[j]); err != nil {
			b.Fatal(err)
		}
	}
}

func argsOr(c benchCall, i int) []any {
	if c.args == nil {
		return nil
	}
	if i < 0 {
		i = 1 << 40 // a key the run never uses
	}
	return c.args(i)
}

var configs = []struct {
	name string
	cfg  func() core.Config
}{
	{"deadline", core.NewConfig},
	{"nodeadline", func() core.Config { return core.NewConfig().WithCallDeadline(0) }},
}

// BenchmarkCoreNoop is the module tests/modules/go/noop on core: the
// figures the performance targets quote.
func BenchmarkCoreNoop(b *testing.B) {
	for _, cf := range configs {
		for _, c := range []benchCall{{"noop", nil}, {"insert", insertArgs}} {
			b.Run(cf.name+"/"+c.reducer, func(b *testing.B) {
				rt := openCore(b, cf.cfg(), "tests/modules/go/noop")
				runCalls(b, rt, "noop", c)
			})
		}
	}
}

// BenchmarkCoreBreakdown runs tests/modules/go/sdkbench, whose reducers add
// one piece of the insert path at a time: the differences between them
// are the cost of argument decoding, reflect dispatch, and row encoding
// plus the host insert.
func BenchmarkCoreBreakdown(b *testing.B) {
	calls := []benchCall{
		{"noop", nil},
		{"count", nil},
		{"args", insertArgs},
		{"args_reflect", func(i int) []any { return []any{uint64(i), "name", int64(i), true} }},
		{"insert", insertArgs},
	}
	for _, cf := range configs {
		for _, c := range calls {
			b.Run(cf.name+"/"+c.reducer, func(b *testing.B) {
				rt := openCore(b, cf.cfg(), "tests/modules/go/sdkbench")
				runCalls(b, rt, "sdkbench", c)
			})
		}
		// 100 inserts per call: the per-row cost of Insert (encode + host
		// insert) without the per-call overhead.
		b.Run(cf.name+"/insert_n100", func(b *testing.B) {
			rt := openCore(b, cf.cfg(), "tests/modules/go/sdkbench")
			runCalls(b, rt, "sdkbench", benchCall{"insert_n", func(i int) []any { return []any{uint64(i) * 100, uint32(100)} }})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/row")
		})
	}
}
