package persistence_test

import (
	"fmt"
	"log"
	"os"

	"github.com/interstice/interstice/persistence"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example-log")
	defer os.RemoveAll(dir)

	l, err := persistence.Open(dir, persistence.Options{}) // SyncAlways, 64 MiB segments
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		// The log is opaque to its payloads: a record is whatever bytes
		// the Payload appends (Bytes is the simplest Payload).
		lsn, err := l.Append(persistence.Bytes(fmt.Sprintf("deposit %d", 10*(i+1))))
		if err != nil {
			log.Fatal(err) // not committed; the log is poisoned if the write failed
		}
		fmt.Println("appended", lsn)
	}
	err = l.Replay(2, func(r persistence.Record) error {
		// r.Payload is valid during the callback only; copy it to keep it.
		fmt.Println("replayed", r.LSN, string(r.Payload))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// appended 1
	// appended 2
	// appended 3
	// replayed 2 deposit 20
	// replayed 3 deposit 30
}
