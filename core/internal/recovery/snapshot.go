package recovery

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/row"
)

// SnapshotChunk is how many snapshot rows are checked in parallel before
// they are added to their table.
const SnapshotChunk = 1 << 14

// CheckSnapshotRows checks rows lo.. of ts against tb's schema and copies
// each, with its key, into es (one entry per row), on up to GOMAXPROCS
// goroutines (at most 4): checking and copying are most of a snapshot's
// load. On failure it returns the index of the first bad row and its
// error.
func CheckSnapshotRows(ts *record.SnapshotTable, lo int, tb *Table, es []store.Entry) (int, error) {
	workers := min(runtime.GOMAXPROCS(0), 4, max(len(es)/1024, 1))
	bad := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	per := (len(es) + workers - 1) / workers
	for w := range workers {
		from, to := w*per, min((w+1)*per, len(es))
		work := func() {
			j := from
			defer func() {
				if x := recover(); x != nil {
					bad[w], errs[w] = lo+j, fmt.Errorf("malformed body: %v", x)
				}
			}()
			var key []byte
			for ; j < to; j++ {
				buf := ts.Row(lo + j)
				k, err := row.CheckKey(key[:0], buf, tb.Types, tb.PK)
				if err != nil {
					bad[w], errs[w] = lo+j, err
					return
				}
				key = k
				es[j] = store.NewEntry(key, buf)
			}
		}
		if w == workers-1 {
			work()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			return bad[w], err
		}
	}
	return 0, nil
}
