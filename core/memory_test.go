package core

import (
	"runtime"
	"testing"

	"github.com/interstice/interstice/row"
)

// TestMemoryPerRow checks resident memory per committed row against the
// target of 2x the encoded size + 64 bytes.
func TestMemoryPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 50k rows")
	}
	rt := open(t, testConfig(t).WithCallDeadline(0), kvWasm(t))
	const n = 50000
	enc := len(row.MustEncode(uint64(1), "name-0000"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		mustCall(t, rt, "kv", "put", uint64(i), "name-0000")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("encoded row %d B, resident %.1f B/row", enc, per)
	if per > float64(2*enc+64) {
		t.Fatalf("%.1f B/row exceeds 2x%d+64", per, enc)
	}
}
