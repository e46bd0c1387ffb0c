package main

// The bank workload (issue 13): a transfer reducer that updates two
// accounts and records the transfer, whose commit triggers a subscriber
// once per account (a statement line each), so one call is a cascade of
// three transactions committed as one batch. Durable (sync=always), with 1
// and 8 callers, against SQLite WAL FULL making the same row changes (two
// UPDATEs and three INSERTs) in one transaction per transfer.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func init() { register("runtime/bank", benchBank) }

const bankAccounts = 16

func bankAccount(i int) string { return fmt.Sprintf("acct%02d", i%bankAccounts) }

// bankPair is the two accounts of transfer id: every pair, in turn.
func bankPair(id uint64) (from, to string) {
	f := int(id)
	return bankAccount(f), bankAccount(f + 1 + int(id/bankAccounts)%(bankAccounts-1))
}

// bankCalls makes n durable transfers split over `callers` goroutines and
// returns calls/s and the log's records and fdatasyncs per call.
func bankCalls(dir string, wasm []byte, n, callers int) (Figure, float64, float64) {
	defer os.RemoveAll(dir)
	rt := openDurable(dir, wasm, persistence.SyncAlways)
	defer rt.Close()
	ctx := context.Background()
	for i := 0; i < bankAccounts; i++ {
		if _, err := rt.Call(ctx, "bank", "open", row.MustEncode(bankAccount(i), int64(1)<<40)); err != nil {
			fatal(err)
		}
	}
	before := rt.LogStats()
	el := spread(n, callers, func(id uint64) {
		from, to := bankPair(id)
		res, err := rt.Call(ctx, "bank", "transfer", row.MustEncode(id, from, to, int64(1)))
		if err == nil && (res.CascadeErr != nil || len(res.Cascade) != 2) {
			err = fmt.Errorf("transfer %d: cascade %+v", id, res.Cascade)
		}
		if err != nil {
			fatal(err)
		}
	})
	st := rt.LogStats()
	recs := float64(st.Records-before.Records) / float64(n)
	syncs := float64(st.Syncs-before.Syncs) / float64(n)
	return Figure{Name: fmt.Sprintf("durable transfers (3 transactions each), %d caller(s)", callers), Value: rate(n, el), Unit: "calls/s",
		Note: fmt.Sprintf("%.2f records and %.3f fdatasyncs per call (%d calls)", recs, syncs, n)}, recs, syncs
}

// sqliteBank makes n transfers split over `writers` goroutines, each one
// transaction of the same row changes as a bank transfer's cascade.
func sqliteBank(dir string, n, writers int) Figure {
	db, done := sqliteFile(dir, fmt.Sprintf("sqlite-bank-%d.db", writers), writers)
	defer done()
	for _, q := range []string{
		"CREATE TABLE accounts (name TEXT PRIMARY KEY, balance INTEGER, last INTEGER)",
		"CREATE TABLE transfers (id INTEGER PRIMARY KEY, src TEXT, dst TEXT, amount INTEGER, at INTEGER)",
		"CREATE TABLE statements (key TEXT PRIMARY KEY, account TEXT, delta INTEGER, balance INTEGER)",
	} {
		_, err := db.Exec(q)
		must(err)
	}
	for i := 0; i < bankAccounts; i++ {
		_, err := db.Exec("INSERT INTO accounts VALUES (?, ?, 0)", bankAccount(i), int64(1)<<40)
		must(err)
	}
	prep := func(q string) *sql.Stmt {
		s, err := db.Prepare(q)
		must(err)
		return s
	}
	upd := prep("UPDATE accounts SET balance = balance + ?, last = ? WHERE name = ? RETURNING balance")
	ins := prep("INSERT INTO transfers VALUES (?, ?, ?, ?, ?)")
	line := prep("INSERT INTO statements VALUES (?, ?, ?, ?)")
	el := spread(n, writers, func(id uint64) {
		a, b := bankPair(id)
		tx, err := db.Begin()
		must(err)
		for _, side := range []struct {
			acct  string
			delta int64
		}{{a, -1}, {b, 1}} {
			var bal int64
			must(tx.Stmt(upd).QueryRow(side.delta, id, side.acct).Scan(&bal))
			_, err = tx.Stmt(line).Exec(fmt.Sprintf("%d/%s", id, side.acct), side.acct, side.delta, bal)
			must(err)
		}
		_, err = tx.Stmt(ins).Exec(id, a, b, 1, time.Now().UnixNano())
		must(err)
		must(tx.Commit())
	})
	return Figure{Name: fmt.Sprintf("SQLite WAL FULL, 2 UPDATEs + 3 INSERTs per transaction, %d writer(s)", writers), Value: rate(n, el), Unit: "calls/s"}
}

func benchBank(cfg config) []Result {
	n := 3000
	if cfg.quick {
		n = 300
	}
	wasm := buildGuest(cfg.dir, "examples/bank")
	// Records per call (one per transaction of the cascade, in one batch)
	// are in the notes of the first two rows.
	ours1, _, sync1 := bankCalls(filepath.Join(cfg.dir, "bank1"), wasm, n, 1)
	sql1 := sqliteBank(cfg.dir, n, 1)
	ours8, _, sync8 := bankCalls(filepath.Join(cfg.dir, "bank8"), wasm, 4*n, 8)
	sql8 := sqliteBank(cfg.dir, n, 8)
	perCall := func(callers int, v float64) Figure {
		return Figure{Name: fmt.Sprintf("fdatasyncs per call, %d caller(s)", callers), Value: v, Unit: "fdatasyncs/call"}
	}
	return []Result{
		{Name: "bank transfers (a cascade of 3), durable, 1 caller vs SQLite", Ours: ours1, Peer: sql1, Target: 0},
		{Name: "bank transfers (a cascade of 3), durable, 8 callers vs SQLite 8 writers", Ours: ours8, Peer: sql8, Target: 0},
		{Name: "bank: fdatasyncs per call, 1 caller, vs the ceiling of 1", Ours: perCall(1, sync1),
			Peer: Figure{Name: "issue 13 ceiling", Value: 1, Unit: "fdatasyncs/call"}, Target: 1.0},
		{Name: "bank: fdatasyncs per call, 8 callers, vs the ceiling of 0.2", Ours: perCall(8, sync8),
			Peer: Figure{Name: "issue 13 ceiling", Value: 0.2, Unit: "fdatasyncs/call"}, Target: 1.0},
	}
}
