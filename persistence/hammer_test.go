package persistence

import (
	"sync"
	"testing"
)

func TestHammerConcurrentAppends(t *testing.T) {
	tests := []struct {
		name          string
		sync          SyncPolicy
		writers, each int
		segmentSize   int64
		batchEvery    int
	}{
		{"sync none small segments", SyncNone, 8, 300, 16 << 10, 7},
		{"sync always group commit", SyncAlways, 8, 40, 64 << 10, 5},
		{"sync interval", SyncInterval, 4, 100, 16 << 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Sync: tc.sync, SegmentSize: tc.segmentSize, SyncInterval: 1e6}
			l := mustOpen(t, dir, o)
			var mu sync.Mutex
			seen := map[uint64]bool{}
			var wg sync.WaitGroup
			stop := make(chan struct{})
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() { // a concurrent reader: what it sees is always contiguous
				defer rwg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					var next uint64 = 1
					if err := l.Replay(0, func(r Record) error {
						if r.LSN != next {
							t.Errorf("concurrent Replay: lsn %d where %d expected", r.LSN, next)
						}
						next++
						return nil
					}); err != nil {
						t.Errorf("concurrent Replay: %v", err)
						return
					}
				}
			}()
			for w := 0; w < tc.writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < tc.each; i++ {
						var lsns []uint64
						if tc.batchEvery > 0 && i%tc.batchEvery == 0 {
							first, err := l.AppendBatch([]Payload{testRec{Body: []byte("b")}, testRec{Body: []byte("b")}})
							if err != nil {
								t.Error(err)
								return
							}
							lsns = []uint64{first, first + 1}
						} else {
							lsn, err := l.Append(testRec{Body: []byte("a")})
							if err != nil {
								t.Error(err)
								return
							}
							lsns = []uint64{lsn}
						}
						mu.Lock()
						for _, x := range lsns {
							if seen[x] {
								t.Errorf("lsn %d handed out twice", x)
							}
							seen[x] = true
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			close(stop)
			rwg.Wait()
			last := l.LastLSN()
			if uint64(len(seen)) != last {
				t.Fatalf("%d LSNs handed out, LastLSN %d", len(seen), last)
			}
			for x := uint64(1); x <= last; x++ {
				if !seen[x] {
					t.Fatalf("lsn %d never handed out", x)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := Validate(dir, checkOpts)
			if err != nil || !rep.OK() || rep.LastLSN != last || uint64(rep.Records) != last {
				t.Fatalf("Validate: %v %+v", err, rep)
			}
		})
	}
}
