package main

// Transaction-log benchmarks (issue 2): durable appends against a raw
// fdatasync loop and SQLite, group commit against SQLite with 8 writers, and
// read/validate speed against CRC32C in memory.

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func init() {
	register("log/durable-append", benchDurableAppend)
	register("log/read", benchLogRead)
}

// smallTxn is the "1 small record" of the targets: one insert of a 3-column row.
func smallTxn(i int) *record.Txn {
	return &record.Txn{Timestamp: uint64(i), Kind: fb.TxKindReducer, Module: "bench", Reducer: "insert",
		Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "bench", Table: "t",
			Row: row.MustEncode(uint64(i), "player", int64(i))}}}
}

func appendDurable(dir string, n, writers int) Figure {
	must(os.MkdirAll(dir, 0o755))
	defer os.RemoveAll(dir)
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{}))
	must(err)
	defer l.Close()
	txs := make([]*record.Txn, n)
	for i := range txs {
		txs[i] = smallTxn(i + 1)
	}
	per := n / writers
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := l.Append(txs[w*per+i]); err != nil {
					fatal(err)
				}
			}
		}(w)
	}
	wg.Wait()
	return Figure{Name: fmt.Sprintf("persistence.Append sync=always, %d writer(s)", writers), Value: rate(per*writers, time.Since(start)), Unit: "ops/s"}
}

func benchDurableAppend(cfg config) []Result {
	n := 5000
	if cfg.quick {
		n = 500
	}
	raw := rawFdatasync(cfg.dir, n, 64)
	ours1 := appendDurable(filepath.Join(cfg.dir, "log1"), n, 1)
	sql1 := sqliteDurable(cfg.dir, n, 1)
	ours8 := appendDurable(filepath.Join(cfg.dir, "log8"), 8*n, 8)
	sql8 := sqliteDurable(cfg.dir, 2*n, 8)
	return []Result{
		{Name: "durable append, 1 writer vs raw fdatasync loop", Ours: ours1, Peer: raw, Target: 0.85},
		{Name: "durable append, 1 writer vs SQLite WAL FULL", Ours: ours1, Peer: sql1, Target: 1.0},
		{Name: "durable append, 8 writers vs SQLite WAL FULL 8 writers", Ours: ours8, Peer: sql8, Target: 5.0},
	}
}

func benchLogRead(cfg config) []Result {
	n := 1_000_000
	if cfg.quick {
		n = 100_000
	}
	dir := filepath.Join(cfg.dir, "read")
	defer os.RemoveAll(dir)
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{Sync: persistence.SyncNone}))
	must(err)
	const batch = 1000
	txs := make([]persistence.Payload, batch)
	for i := 0; i < n; i += batch {
		for j := range txs {
			txs[j] = smallTxn(i + j + 1)
		}
		_, err := l.AppendBatch(txs)
		must(err)
	}
	must(l.Close())
	rep, err := persistence.Validate(dir, record.LogOptions(persistence.Options{}))
	must(err)
	if rep.Records != int64(n) {
		fatal(fmt.Errorf("log holds %d records, want %d", rep.Records, n))
	}
	// The same bytes, in memory, for the CRC32C peer.
	var data []byte
	for _, s := range rep.Segments {
		b, err := os.ReadFile(filepath.Join(dir, s.Name))
		must(err)
		data = append(data, b[:s.DataBytes]...)
	}
	crc := crcInMemory(data)
	mb := float64(rep.ValidBytes) / 1e6

	// Validate: read + CRC + chain checks, as the CLI does.
	start := time.Now()
	_, err = persistence.Validate(dir, record.LogOptions(persistence.Options{}))
	must(err)
	vd := time.Since(start)

	// Iterate: read + CRC + decode of every record (root table and mutation
	// count), nothing applied.
	start = time.Now()
	r, err := persistence.NewReader(dir, 0, record.LogOptions(persistence.Options{}))
	must(err)
	var muts int
	var t fb.Transaction
	for r.Next() {
		rec := r.Record()
		record.Init(&t, rec.Payload)
		muts += t.MutationsLength()
	}
	must(r.Err())
	r.Close()
	id := time.Since(start)
	if muts != n {
		fatal(fmt.Errorf("iterated %d mutations, want %d", muts, n))
	}
	recPerSec := Figure{Name: "Reader: read + CRC32C + decode", Value: float64(n) / id.Seconds(), Unit: "rec/s",
		Note: fmt.Sprintf("%d records, %.1f MB, %.0f MB/s", n, mb, mb/id.Seconds())}
	return []Result{
		{Name: "validate a log vs CRC32C in memory", Ours: Figure{Name: "persistence.Validate", Value: mb / vd.Seconds(), Unit: "MB/s",
			Note: fmt.Sprintf("%d records, %.1f MB in %s", n, mb, vd.Round(time.Millisecond))}, Peer: crc, Target: 0.5},
		{Name: "log iteration vs 1M rec/s floor (BRIEF: ≥ 10M/s target)", Ours: recPerSec,
			Peer: Figure{Name: "issue 2 floor", Value: 1e6, Unit: "rec/s"}, Target: 1.0},
	}
}
