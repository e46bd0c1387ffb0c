package persistence_test

import (
	"fmt"
	"log"
	"os"

	"github.com/interstice/interstice/fbs/fb"
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
		lsn, err := l.Append(&persistence.Txn{
			Kind: fb.TxKindReducer, Module: "bank", Reducer: "deposit",
			Mutations: []persistence.Mutation{{Op: fb.OpInsert, Module: "bank", Table: "accounts", Row: []byte{byte(i)}}},
		})
		if err != nil {
			log.Fatal(err) // not committed; the log is poisoned if the write failed
		}
		fmt.Println("appended", lsn)
	}
	err = l.Replay(2, func(r persistence.Record) error {
		t := r.Transaction() // zero-copy view, valid during the callback
		fmt.Println("replayed", r.LSN, string(t.Reducer()), t.MutationsLength())
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
	// replayed 2 deposit 1
	// replayed 3 deposit 1
}
