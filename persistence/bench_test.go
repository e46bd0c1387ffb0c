package persistence

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallTxn is a small record of the test format: a 160-byte payload (176
// bytes framed), the size the runtime's one-insert Transaction record of
// these benchmarks encoded to.
func smallTxn() testRec {
	body := []byte("reducer bank.deposit insert bank.accounts 0123456789abcdef|")
	for len(body) < 160-8 {
		body = append(body, byte(len(body)))
	}
	return testRec{Body: body}
}

// BenchmarkRawFdatasync is the floor for a durable append: a small pwrite
// plus fdatasync on a preallocated file.
func BenchmarkRawFdatasync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, 64<<20); err != nil {
		b.Fatal(err)
	}
	f.Sync()
	buf := make([]byte, 128)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, int64(i)*128%(60<<20)); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendSyncAlways(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{})
	defer l.Close()
	var tx Payload = smallTxn() // boxed once, outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(tx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendSyncAlways8 runs 8 concurrent appenders (group commit).
func BenchmarkAppendSyncAlways8(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{})
	defer l.Close()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var tx Payload = smallTxn() // boxed once, outside the timed loop
		for pb.Next() {
			if _, err := l.Append(tx); err != nil {
				b.Fatal(err)
			}
		}
	})
	reportBatch(b, l)
}

// reportBatch reports the mean group-commit batch of l's writes.
func reportBatch(b *testing.B, l *Log) {
	if st := l.Stats(); st.Writes > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Writes), "recs/write")
	}
}

func BenchmarkAppendSyncNone(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{Sync: SyncNone})
	defer l.Close()
	var tx Payload = smallTxn() // boxed once, outside the timed loop
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(tx); err != nil {
			b.Fatal(err)
		}
	}
}

// segmentImage returns an in-memory segment of n small records.
func segmentImage(n int) []byte {
	p := smallTxn()
	data := make([]byte, segHeaderSize, segHeaderSize+n*frameSize(len(p.AppendPayload(nil, 0))))
	encodeSegHeader(data, 1, 0)
	for i := 1; i <= n; i++ {
		var err error
		if data, err = appendFrame(data, uint64(i), p, testCheck, false); err != nil {
			panic(err)
		}
	}
	return data
}

// BenchmarkIterate measures read + CRC + LSN chain + payload check + a
// read of the payload (its embedded LSN) per record, from memory. Compare
// with BenchmarkCRC32C on the same bytes.
func BenchmarkIterate(b *testing.B) {
	data := segmentImage(1 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var sum uint64
	for i := 0; i < b.N; i++ {
		it := newFrameIter("bench.log", data, segHeader{version: formatVersion, firstLSN: 1}, false, testCheck)
		for {
			_, _, p, ok := it.next()
			if !ok {
				break
			}
			sum += binary.LittleEndian.Uint64(p)
		}
		if it.err != nil {
			b.Fatal(it.err)
		}
	}
	if want := uint64(b.N) * (1 << 20) * (1<<20 + 1) / 2; sum != want {
		b.Fatalf("sum of the read lsns %d, want %d", sum, want)
	}
	b.ReportMetric(float64(b.N)*float64(1<<20)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkCRC32C(b *testing.B) {
	data := segmentImage(1 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		crc32.Checksum(data, crcTable)
	}
}

// BenchmarkValidate validates a 1M-record log on disk (page cache).
func BenchmarkValidate(b *testing.B) {
	dir := b.TempDir()
	data := segmentImage(1 << 20)
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := Validate(dir, checkOpts)
		if err != nil || !rep.OK() || rep.Records != 1<<20 {
			b.Fatal(err, rep)
		}
	}
}

// BenchmarkReplay replays a 1M-record log through Log.Replay.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	data := segmentImage(1 << 20)
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
		b.Fatal(err)
	}
	l := mustOpen(b, dir, Options{Recovery: RecoverReadOnly})
	defer l.Close()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sum uint64
		if err := l.Replay(0, func(r Record) error { sum += binary.LittleEndian.Uint64(r.Payload); return nil }); err != nil {
			b.Fatal(err)
		}
		if want := uint64(1<<20) * (1<<20 + 1) / 2; sum != want {
			b.Fatalf("sum of the replayed lsns %d, want %d", sum, want)
		}
	}
	b.ReportMetric(float64(b.N)*float64(1<<20)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkValidateVsCRC32C times Validate of a 1M-record log (page cache)
// and CRC32C over the same bytes in memory, alternately in every
// iteration, and reports the ratio of the fastest runs of each
// (crc32c-time / validate-time; the target is >= 0.5). Alternating makes
// the ratio robust on a shared, noisy machine.
func BenchmarkValidateVsCRC32C(b *testing.B) {
	dir := b.TempDir()
	data := segmentImage(1 << 20)
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var bestCRC, bestVal time.Duration = 1 << 62, 1 << 62
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		crc32.Checksum(data, crcTable)
		t1 := time.Now()
		rep, err := Validate(dir, checkOpts)
		t2 := time.Now()
		if err != nil || !rep.OK() || rep.Records != 1<<20 {
			b.Fatal(err, rep)
		}
		bestCRC, bestVal = min(bestCRC, t1.Sub(t0)), min(bestVal, t2.Sub(t1))
	}
	b.ReportMetric(float64(bestCRC)/float64(bestVal), "x-crc32c")
	b.ReportMetric(float64(len(data))/bestVal.Seconds()/1e6, "validate-MB/s")
	b.ReportMetric(float64(len(data))/bestCRC.Seconds()/1e6, "crc32c-MB/s")
}

// BenchmarkDurableAppendAcrossSteps appends 1 KiB records under
// SyncAlways through 8 MiB of a 64 MiB segment, preallocated whole (as
// before 0.4.0) and in steps (the file grows a MiB at a time ahead of the
// frames): the cost of stepwise preallocation to the fdatasync path
// (persistence/RATIONALE.md, "Why preallocate in steps?").
func BenchmarkDurableAppendAcrossSteps(b *testing.B) {
	payload := Bytes(make([]byte, 1<<10))
	for _, tc := range []struct {
		name string
		step int64
	}{{"whole", DefaultSegmentSize}, {"steps", zeroFillChunk}} {
		b.Run(tc.name, func(b *testing.B) {
			defer func(s int64) { preallocStep = s }(preallocStep)
			preallocStep = tc.step
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				l, err := Open(dir, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for j := 0; j < 8<<10; j++ {
					if _, err := l.Append(payload); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				l.Close()
			}
			b.ReportMetric(float64(b.N*(8<<10))/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
