package persistence

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand"
	"path/filepath"
	"testing"
)

// foldState is the "state" these tests rebuild: a count and a hash folded
// over every record's body, in LSN order. A snapshot body is the state's
// 16 bytes.
type foldState struct {
	n uint64
	h uint64
}

func (s *foldState) apply(t testing.TB, lsn uint64, body []byte) {
	if lsn != s.n+1 {
		t.Fatalf("state at lsn %d got record %d: a gap or a repeat", s.n, lsn)
	}
	f := fnv.New64a()
	binary.Write(f, binary.LittleEndian, s.h)
	f.Write(body)
	s.n, s.h = lsn, f.Sum64()
}

func (s *foldState) applyRecord(t testing.TB, r Record) {
	rec, err := decodeTestRec(r.Payload)
	if err != nil || rec.LSN != r.LSN {
		t.Fatalf("lsn %d: decodes to lsn %d, %v", r.LSN, rec.LSN, err)
	}
	s.apply(t, r.LSN, rec.Body)
}

func (s foldState) encode() []byte {
	return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, s.n), s.h)
}

func decodeFoldState(b []byte) foldState {
	if b == nil {
		return foldState{}
	}
	return foldState{n: binary.LittleEndian.Uint64(b), h: binary.LittleEndian.Uint64(b[8:])}
}

// recoverState rebuilds the state as the runtime does at startup: the
// newest valid snapshot, then the log from snapshot LSN + 1. It fails the
// test if the log no longer holds snapshot LSN + 1 (the state would be
// lost).
func recoverState(t testing.TB, dir string) (foldState, uint64) {
	t.Helper()
	l := mustOpen(t, dir, Options{Recovery: RecoverReadOnly})
	defer l.Close()
	snapLSN, body, _, err := ReadNewestSnapshot(dir, l.LastLSN())
	if err != nil {
		t.Fatal(err)
	}
	st := decodeFoldState(body)
	if st.n != snapLSN {
		t.Fatalf("snapshot %d holds the state at lsn %d", snapLSN, st.n)
	}
	err = l.Replay(snapLSN+1, func(r Record) error { st.applyRecord(t, r); return nil })
	if err != nil {
		t.Fatalf("replay from snapshot lsn %d + 1: %v", snapLSN, err)
	}
	if st.n != l.LastLSN() {
		t.Fatalf("replay from snapshot %d ended at %d, the log ends at %d", snapLSN, st.n, l.LastLSN())
	}
	return st, snapLSN
}

// firstSegmentLSN returns the first LSN of the oldest segment on disk.
func firstSegmentLSN(t testing.TB, dir string) uint64 {
	t.Helper()
	rep, err := Validate(dir, checkOpts)
	if err != nil || !rep.OK() || len(rep.Segments) == 0 {
		t.Fatalf("Validate: %v %+v", err, rep)
	}
	return rep.Segments[0].FirstLSN
}

// TestRetentionNeverDeletesALogSuffixNoSnapshotCovers recreates "logs that
// grow forever" being fixed unsafely. Many small segments rotate while
// snapshots are taken at random moments; after each one the protected LSN
// is set to the newest valid snapshot and retention runs (both by Retain
// and by the rotations that follow). At every step the oldest segment left
// must start at or below snapshot LSN + 1, and snapshot + replay of the
// remaining log must rebuild exactly the live state.
func TestRetentionNeverDeletesALogSuffixNoSnapshotCovers(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			o := Options{SegmentSize: MinSegmentSize, Sync: SyncNone, RetainSegments: 1 + rng.Intn(3)}
			l := mustOpen(t, dir, o)
			var live foldState
			deleted := 0
			for step := 0; step < 40; step++ {
				for i := rng.Intn(15); i > 0; i-- {
					tx := testTxn(live.n + 1)
					lsn, err := l.Append(tx)
					if err != nil {
						t.Fatal(err)
					}
					live.apply(t, lsn, tx.Body)
				}
				if rng.Intn(3) == 0 && live.n > 0 {
					mustWriteSnapshot(t, dir, live.n, live.encode())
				}
				snapLSN, _, _, err := ReadNewestSnapshot(dir, l.LastLSN())
				if err != nil {
					t.Fatal(err)
				}
				l.SetProtectedLSN(snapLSN)
				removed, err := l.Retain()
				if err != nil {
					t.Fatal(err)
				}
				deleted += len(removed)
				if first := firstSegmentLSN(t, dir); first > snapLSN+1 {
					t.Fatalf("step %d: the log starts at lsn %d, snapshot %d needs %d", step, first, snapLSN, snapLSN+1)
				}
				if fl := l.FirstLSN(); fl > snapLSN+1 {
					t.Fatalf("step %d: FirstLSN %d > snapshot %d + 1", step, fl, snapLSN)
				}
				if err := l.Replay(snapLSN+1, func(Record) error { return nil }); err != nil {
					t.Fatalf("step %d: replay from snapshot %d + 1: %v", step, snapLSN, err)
				}
			}
			l.Close()
			got, _ := recoverState(t, dir)
			if got != live {
				t.Fatalf("recovered state %+v, live state %+v", got, live)
			}
			if deleted == 0 {
				t.Fatal("retention never deleted anything: the test proves nothing")
			}
		})
	}
}

// TestDamagedNewestSnapshotStillRecoversWhenTheFloorIsTheOldestKept
// recreates the failure the documented protocol guards against: the
// newest snapshot, whose LSN was used as the retention floor, is found
// damaged at the next start. If the floor had been the newest snapshot,
// the older one would not reach the log. With PruneSnapshots(keep 2) and
// the floor at the older kept snapshot, the older snapshot plus the log
// still rebuild the state.
func TestDamagedNewestSnapshotStillRecoversWhenTheFloorIsTheOldestKept(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: MinSegmentSize, Sync: SyncNone, RetainSegments: 1})
	var live foldState
	add := func(n int) {
		for i := 0; i < n; i++ {
			tx := testTxn(live.n + 1)
			lsn, err := l.Append(tx)
			if err != nil {
				t.Fatal(err)
			}
			live.apply(t, lsn, tx.Body)
		}
	}
	for round := 0; round < 6; round++ {
		add(40)
		mustWriteSnapshot(t, dir, live.n, live.encode())
		if _, err := PruneSnapshots(dir, 2); err != nil {
			t.Fatal(err)
		}
		infos, err := ListSnapshots(dir)
		if err != nil {
			t.Fatal(err)
		}
		l.SetProtectedLSN(infos[0].LSN) // the oldest snapshot kept
		if _, err := l.Retain(); err != nil {
			t.Fatal(err)
		}
	}
	add(7)
	if l.FirstLSN() <= 1 {
		t.Fatal("retention deleted nothing: the test proves nothing")
	}
	l.Close()
	infos, _ := ListSnapshots(dir)
	if len(infos) != 2 {
		t.Fatalf("snapshots %+v", infos)
	}
	flipByte(t, filepath.Join(dir, infos[1].Name), snapHeaderSize+3)
	got, snapLSN := recoverState(t, dir)
	if snapLSN != infos[0].LSN || got != live {
		t.Fatalf("recovered from snapshot %d: %+v, live %+v", snapLSN, got, live)
	}
	// The floor was binding: the log no longer reaches the snapshot before
	// the older one, so recovery really depended on the protocol.
	if first := firstSegmentLSN(t, dir); first <= infos[0].LSN-40+1 {
		t.Fatalf("log starts at %d: retention kept more than the floor required", first)
	}
}
