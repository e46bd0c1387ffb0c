package core

import (
	"context"
	"testing"

	"github.com/interstice/interstice/row"
)

func BenchmarkCallNoop(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	args := row.MustEncode()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Call(ctx, "kv", "noop", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallInsert(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	ctx := context.Background()
	bufs := make([][]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bufs)
		if j == 0 {
			b.StopTimer()
			for k := range bufs {
				bufs[k] = row.MustEncode(uint64(i+k), "name")
			}
			b.StartTimer()
		}
		if _, err := rt.Call(ctx, "kv", "put", bufs[j]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	rt := open(b, testConfig(b), kvWasm(b))
	for i := 0; i < 1000; i++ {
		mustCall(b, rt, "kv", "put", uint64(i), "name")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, _ := rt.Get("kv", "items", uint64(i%1000)); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkCallNoopNoDeadline(b *testing.B) {
	rt := open(b, testConfig(b).WithCallDeadline(0), kvWasm(b))
	args := row.MustEncode()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Call(ctx, "kv", "noop", args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallInsertNoDeadline(b *testing.B) {
	rt := open(b, testConfig(b).WithCallDeadline(0), kvWasm(b))
	ctx := context.Background()
	bufs := make([][]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bufs)
		if j == 0 {
			b.StopTimer()
			for k := range bufs {
				bufs[k] = row.MustEncode(uint64(i+k), "name")
			}
			b.StartTimer()
		}
		if _, err := rt.Call(ctx, "kv", "put", bufs[j]); err != nil {
			b.Fatal(err)
		}
	}
}
