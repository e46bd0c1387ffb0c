package core

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// BenchmarkReplayOneInsert is `make bench`'s startup case: Open, read-only,
// of a log of 1M transactions of one insert each (ascending u64 key),
// timing the whole Open. INTERSTICE_REPLAY_DIR, if set, keeps the data
// directory there between runs (built if missing) so that profiles
// (-cpuprofile) show Open alone.
func BenchmarkReplayOneInsert(b *testing.B) {
	const calls = 1_000_000
	dir := os.Getenv("INTERSTICE_REPLAY_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	cfg := durConfig(b, dir).WithSync(persistence.SyncNone)
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		os.RemoveAll(dir)
		rt := open(b, cfg, durV1(b))
		for i := 1; i <= calls; i++ {
			if _, err := rt.Call(context.Background(), "dur", "put", row.MustEncode(uint64(i), "player")); err != nil {
				b.Fatal(err)
			}
		}
		rt.Close()
		if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cfg = cfg.WithRecovery(persistence.RecoverReadOnly)
	b.ResetTimer()
	b.StopTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		b.StartTimer()
		rt, err := Open(cfg)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		n += rt.ReplayStats().Mutations
		if c := count(b, rt, "dur", "items"); c != calls {
			b.Fatalf("%d rows after Open, want %d", c, calls)
		}
		rt.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mut/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/open")
}
