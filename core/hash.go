package core

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"slices"

	"github.com/google/btree"
)

// StateHash returns the LSN of the last committed transaction and a
// SHA-256 digest of the state after it: every loaded module (name,
// version, the SHA-256 of its wasm) in name order, and for each of its
// tables, in schema order, the table's name, its row count and every row
// (primary key and encoded row) in key order. Two runtimes that hold the
// same modules and rows have the same hash, however they got there (calls,
// replay, a snapshot), so it checks that a replica, a restored backup or a
// replay reproduced the state exactly. Each string and byte string is
// hashed as its length (8 bytes, little-endian) and its bytes.
//
// It is a read: it works on a read-only runtime. It holds the transaction
// lock only to take copy-on-write clones of the
// tables (no row is copied) and hashes outside it, so calls go on
// meanwhile; the hash is of the state at the LSN it returns.
func (r *Runtime) StateHash() (lsn uint64, sum [32]byte, err error) {
	type tcopy struct {
		name string
		tree *btree.BTreeG[entry]
	}
	type mcopy struct {
		name, version string
		wasm          [32]byte
		tables        []tcopy
	}
	r.execMu.Lock()
	// A read: allowed read-only, refused closed or poisoned (lookupTable).
	if r.closed.Load() {
		r.execMu.Unlock()
		return 0, sum, errClosed
	}
	if e := r.poisoned.Load(); e != nil {
		r.execMu.Unlock()
		return 0, sum, e
	}
	lsn, _ = r.commit.last()
	var mods []mcopy
	r.stateMu.Lock() // Clone marks the original's nodes shared
	for _, m := range r.order {
		mc := mcopy{name: m.info.Name, version: m.info.Version, wasm: m.info.WasmSHA256}
		for _, t := range m.tables {
			mc.tables = append(mc.tables, tcopy{t.name, t.Tree.Clone()})
		}
		mods = append(mods, mc)
	}
	r.stateMu.Unlock()
	r.execMu.Unlock()

	slices.SortFunc(mods, func(a, b mcopy) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = append(buf[:0], s...)
		hashBytes(h, buf)
	}
	for _, m := range mods {
		str(m.name)
		str(m.version)
		h.Write(m.wasm[:])
		for _, t := range m.tables {
			str(t.name)
			hashUint(h, uint64(t.tree.Len()))
			t.tree.Ascend(func(e entry) bool {
				str(e.Key)
				hashBytes(h, e.Row)
				return true
			})
		}
	}
	h.Sum(sum[:0])
	return lsn, sum, nil
}

func hashUint(h hash.Hash, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	h.Write(b[:])
}

func hashBytes(h hash.Hash, b []byte) {
	hashUint(h, uint64(len(b)))
	h.Write(b)
}
