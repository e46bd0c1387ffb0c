package persistence

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchLogTxn stands for bench/log.go's smallTxn (one insert of a
// 3-column row) in the test format: a 288-byte payload, 304 bytes framed,
// the size that Transaction record encoded to.
func benchLogTxn(i int) testRec {
	body := fmt.Appendf(nil, "bench.insert bench.t %d player %d|", i, i)
	for len(body) < 288-8 {
		body = append(body, byte(i+len(body)))
	}
	return testRec{Body: body}
}

var benchLog struct {
	once sync.Once
	dir  string
	data []byte // the valid bytes of every segment, concatenated
	n    int
}

// benchLogDir builds, once per test binary, the log bench/log.go's
// benchLogRead measures: 1M records appended in batches of 1000 with the
// default 64 MiB segments (3 segments, the last one preallocated).
func benchLogDir(b *testing.B) (string, []byte, int) {
	benchLog.once.Do(func() {
		dir, err := os.MkdirTemp("", "validate-bench-")
		if err != nil {
			b.Fatal(err)
		}
		const n, batch = 1_000_000, 1000
		l := mustOpen(b, dir, Options{Sync: SyncNone})
		txs := make([]Payload, batch)
		for i := 0; i < n; i += batch {
			for j := range txs {
				txs[j] = benchLogTxn(i + j + 1)
			}
			if _, err := l.AppendBatch(txs); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		rep, err := Validate(dir, checkOpts)
		if err != nil || !rep.OK() || rep.Records != n {
			b.Fatal(err, rep)
		}
		var data []byte
		for _, s := range rep.Segments {
			f, err := os.ReadFile(filepath.Join(dir, s.Name))
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, f[:s.DataBytes]...)
		}
		benchLog.dir, benchLog.data, benchLog.n = dir, data, n
	})
	if benchLog.dir == "" {
		b.Fatal("no benchmark log")
	}
	return benchLog.dir, benchLog.data, benchLog.n
}

// BenchmarkValidateLogVsCRC32C mirrors bench/log.go's benchLogRead: each
// iteration times one Validate of a 1M-record log in 64 MiB segments (page
// cache) and one CRC32C of its valid bytes in memory, and reports
// ValidBytes/time of each and their ratio (median and best of the
// iterations; the BRIEF target is >= 0.5). Run with -benchtime=Nx. The
// sub-benchmark seq is the sequential scan, par1 the parallel one with one
// worker, par with GOMAXPROCS workers.
func BenchmarkValidateLogVsCRC32C(b *testing.B) {
	for _, bc := range []struct {
		name    string
		workers int
	}{{"seq", -1}, {"par1", 1}, {"par", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			defer func(w int) { scanWorkers = w }(scanWorkers)
			scanWorkers = bc.workers
			benchValidateLog(b)
		})
	}
}

func benchValidateLog(b *testing.B) {
	dir, data, n := benchLogDir(b)
	b.SetBytes(int64(len(data)))
	var val, crc, cpu []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		crc32.Checksum(data, crcTable)
		t1 := time.Now()
		c0 := cpuTime()
		rep, err := Validate(dir, checkOpts)
		t2 := time.Now()
		cpu = append(cpu, cpuTime()-c0)
		if err != nil || !rep.OK() || rep.Records != int64(n) || rep.ValidBytes != int64(len(data)) {
			b.Fatal(err, rep)
		}
		crc, val = append(crc, t1.Sub(t0)), append(val, t2.Sub(t1))
	}
	b.StopTimer()
	slices.Sort(val)
	slices.Sort(crc)
	slices.Sort(cpu)
	mbs := func(d time.Duration) float64 { return float64(len(data)) / d.Seconds() / 1e6 }
	med := func(s []time.Duration) time.Duration { return s[len(s)/2] }
	b.ReportMetric(mbs(med(val)), "validate-MB/s")
	b.ReportMetric(mbs(med(crc)), "crc32c-MB/s")
	b.ReportMetric(float64(med(crc))/float64(med(val)), "x-crc32c-median")
	b.ReportMetric(float64(crc[0])/float64(val[0]), "x-crc32c-best")
	b.ReportMetric(float64(len(data))/float64(n), "bytes/record")
	b.ReportMetric(float64(med(cpu).Microseconds())/1e3, "validate-cpu-ms")
	b.ReportMetric(float64(val[0].Microseconds())/1e3, "validate-best-ms")
	b.ReportMetric(float64(crc[0].Microseconds())/1e3, "crc32c-best-ms")
}

// cpuTime returns the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cleanupBenchLog removes the log benchLogDir built (called by TestMain).
func cleanupBenchLog() {
	if benchLog.dir != "" {
		os.RemoveAll(benchLog.dir)
	}
}
