package main

// The peers: what each Interstice figure is measured against. SQLite is the
// real SQLite (github.com/mattn/go-sqlite3, the C amalgamation through cgo)
// driven through Go's database/sql.

import (
	"database/sql"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// rawFdatasync writes n records of size bytes to a preallocated file, with one
// fdatasync after each: the floor for a durable single-record commit.
func rawFdatasync(dir string, n, size int) Figure {
	path := filepath.Join(dir, "raw.dat")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	must(err)
	defer os.Remove(path)
	defer f.Close()
	total := int64(n+1) * int64(size)
	if err := unix.Fallocate(int(f.Fd()), 0, 0, total); err != nil {
		must(f.Truncate(total))
	}
	must(f.Sync())
	buf := make([]byte, size)
	start := time.Now()
	for i := 0; i < n; i++ {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, int64(i*size)); err != nil {
			fatal(err)
		}
		must(unix.Fdatasync(int(f.Fd())))
	}
	return Figure{Name: "raw write+fdatasync, preallocated", Value: rate(n, time.Since(start)), Unit: "ops/s",
		Note: fmt.Sprintf("%d-byte writes", size)}
}

func openSQLite(dsn string) *sql.DB {
	db, err := sql.Open("sqlite3", dsn)
	must(err)
	// journal_mode and synchronous are per connection: set them in the DSN so
	// every pooled connection has them (go-sqlite3 compiles WAL mode with
	// synchronous=NORMAL by default).
	var mode string
	if err := db.QueryRow("PRAGMA synchronous").Scan(&mode); err != nil || mode != "2" {
		fatal(fmt.Errorf("sqlite: synchronous is %q, want 2 (FULL)", mode))
	}
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)"); err != nil {
		fatal(err)
	}
	return db
}

// sqliteFile opens a new SQLite database file in dir in WAL mode with
// synchronous=FULL, for `writers` connections; done closes and removes it.
func sqliteFile(dir, name string, writers int) (db *sql.DB, done func()) {
	path := filepath.Join(dir, name)
	db = openSQLite("file:" + path + "?_journal_mode=WAL&_sync=FULL&_busy_timeout=60000&_txlock=immediate")
	db.SetMaxOpenConns(writers)
	return db, func() {
		db.Close()
		for _, s := range []string{"", "-wal", "-shm"} {
			os.Remove(path + s)
		}
	}
}

// sqliteDurable runs n one-row transactions split over `writers` goroutines
// against SQLite in WAL mode with synchronous=FULL.
func sqliteDurable(dir string, n, writers int) Figure {
	db, done := sqliteFile(dir, fmt.Sprintf("sqlite-%d.db", writers), writers)
	defer done()
	stmt, err := db.Prepare("INSERT INTO t (id, name, score) VALUES (?, ?, ?)")
	must(err)
	var wg sync.WaitGroup
	per := n / writers
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				tx, err := db.Begin()
				must(err)
				if _, err := tx.Stmt(stmt).Exec(w*per+i+1, "player", i); err != nil {
					fatal(err)
				}
				must(tx.Commit())
			}
		}(w)
	}
	wg.Wait()
	return Figure{Name: fmt.Sprintf("SQLite WAL synchronous=FULL, %d writer(s)", writers), Value: rate(per*writers, time.Since(start)), Unit: "ops/s"}
}

// sqliteMemoryInsert inserts n rows into an in-memory SQLite database with a
// prepared statement, one autocommit insert each.
func sqliteMemoryInsert(n int) Figure {
	db, err := sql.Open("sqlite3", "file::memory:")
	must(err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)")
	must(err)
	stmt, err := db.Prepare("INSERT INTO t (id, name, score) VALUES (?, ?, ?)")
	must(err)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := stmt.Exec(i+1, "player", i); err != nil {
			fatal(err)
		}
	}
	return Figure{Name: "SQLite :memory: prepared INSERT", Value: rate(n, time.Since(start)), Unit: "ops/s"}
}

// crcInMemory returns the MB/s of CRC32C over data already in memory.
func crcInMemory(data []byte) Figure {
	reps := 1
	var sum uint32
	start := time.Now()
	for time.Since(start) < 300*time.Millisecond {
		sum ^= crc32.Checksum(data, castagnoli)
		reps++
	}
	d := time.Since(start)
	_ = sum
	return Figure{Name: "CRC32C over the same bytes in memory", Value: float64(len(data)) * float64(reps-1) / d.Seconds() / 1e6, Unit: "MB/s"}
}
