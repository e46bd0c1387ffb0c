package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/row"
)

// BenchmarkGoNoopCall is the Go side of the C noop-call comparison
// (tests/c/bench_noop.c): the same module (build/wasm/noop.wasm) and the
// same reducer, called through core directly.
func BenchmarkGoNoopCall(b *testing.B) {
	wasm, err := os.ReadFile(filepath.Join("..", "build", "wasm", "noop.wasm"))
	if err != nil {
		b.Skipf("build/wasm/noop.wasm: %v (make capi-wasm)", err)
	}
	rt, err := core.Open(core.NewConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.LoadModule(wasm); err != nil {
		b.Fatal(err)
	}
	args := row.MustEncode()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Call(ctx, "noop", "noop", args); err != nil {
			b.Fatal(err)
		}
	}
}
