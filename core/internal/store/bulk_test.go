package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/google/btree"
)

// TestBulkLoadFastPath checks that bulk loading writes google/btree's
// nodes directly (see bulk.go): a btree upgrade that changes their layout
// fails here instead of silently making replay several times slower.
func TestBulkLoadFastPath(t *testing.T) {
	if !LayoutOK {
		t.Fatal("google/btree's node layout changed: bulkLoad and the replay appender fall back to ReplaceOrInsert")
	}
	// The mirror also relies on what the layout does not show (node size
	// limits of 2*degree-1 and degree-1 items, the copy-on-write rule):
	// a new version must be checked against bulk.go before it is used.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/google/btree" && d.Version != "v1.1.3" {
				t.Fatalf("github.com/google/btree is %s: check bulk.go's mirror of v1.1.3's internals against it, then update this test", d.Version)
			}
		}
	}
}

func testKey(i int) string { return string(binary.BigEndian.AppendUint64(nil, uint64(i))) }

func testEntry(i int) Entry {
	k := testKey(i)
	return NewEntry([]byte(k), []byte(fmt.Sprint("row", i)))
}

// checkTree checks t against google/btree's invariants, through the
// mirror types: node sizes, child counts, equal leaf depth, ascending
// keys, length and copy-on-write ownership. It returns the keys in order.
func checkTree(t *testing.T, tr *btree.BTreeG[Entry]) []string {
	t.Helper()
	h := (*btreeHdr)(unsafe.Pointer(tr))
	maxItems, minItems := 2*h.degree-1, h.degree-1
	var keys []string
	leafDepth := -1
	var walk func(n *bnode, depth int, root bool)
	walk = func(n *bnode, depth int, root bool) {
		if n.cow != h.cow {
			t.Fatalf("node at depth %d belongs to another copy-on-write context", depth)
		}
		if len(n.items) > maxItems || (!root && len(n.items) < minItems) {
			t.Fatalf("node at depth %d holds %d items (allowed %d..%d)", depth, len(n.items), minItems, maxItems)
		}
		if len(n.children) == 0 {
			if leafDepth < 0 {
				leafDepth = depth
			} else if leafDepth != depth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			for _, e := range n.items {
				keys = append(keys, e.Key)
			}
			return
		}
		if len(n.children) != len(n.items)+1 {
			t.Fatalf("node with %d items has %d children", len(n.items), len(n.children))
		}
		for i, c := range n.children {
			walk(c, depth+1, false)
			if i < len(n.items) {
				keys = append(keys, n.items[i].Key)
			}
		}
	}
	if h.root != nil {
		walk(h.root, 0, true)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Fatalf("keys out of order at %d", i)
		}
	}
	if len(keys) != tr.Len() {
		t.Fatalf("tree holds %d keys, Len %d", len(keys), tr.Len())
	}
	return keys
}

// TestBulkLoad builds trees of many sizes by bulkLoad and by appending to
// trees built by inserts, checks the B-tree invariants, then mutates them
// through google/btree's API (which relies on those invariants) and checks
// again against a model.
func TestBulkLoad(t *testing.T) {
	sizes := []int{0, 1, 2, 30, 31, 62, 63, 64, 65, 126, 127, 128, 200, 1000, 2015, 2016, 2017, 4032, 4033, 4095, 4096, 5000, 130000}
	for i := 0; i < 12; i++ {
		sizes = append(sizes, rand.IntN(10000))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range sizes {
		for _, pre := range []int{0, 1, 100, 5000} {
			if pre > 0 && n > 20000 {
				continue
			}
			tr := btree.NewG[Entry](Degree, lessEntry)
			model := map[int]bool{}
			// pre rows inserted one by one (random order, keys 0..2*pre step 2)
			for _, i := range rng.Perm(pre) {
				tr.ReplaceOrInsert(testEntry(2 * i))
				model[2*i] = true
			}
			if pre == 0 {
				es := make([]Entry, n)
				for i := range es {
					es[i] = testEntry(i)
					model[i] = true
				}
				BulkLoad(tr, es)
			} else {
				a := NewAppender(tr)
				if a == nil {
					t.Fatal("no appender")
				}
				for i := 0; i < n; i++ {
					a.Append(testEntry(2*pre + i))
					model[2*pre+i] = true
				}
				a.Finish()
			}
			name := fmt.Sprintf("n=%d pre=%d", n, pre)
			if got := checkTree(t, tr); len(got) != len(model) {
				t.Fatalf("%s: %d keys, want %d", name, len(got), len(model))
			}
			for k := range model {
				if _, ok := tr.Get(Entry{Key: testKey(k)}); !ok {
					t.Fatalf("%s: key %d missing", name, k)
				}
			}
			if n > 5000 && pre == 0 {
				continue
			}
			// Mutate through the API: deletes, inserts between and after.
			top := 2*pre + n
			for j := 0; j < 3*(n+pre)+10; j++ {
				k := rng.IntN(top + 100)
				if rng.IntN(2) == 0 {
					_, had := tr.Delete(Entry{Key: testKey(k)})
					if had != model[k] {
						t.Fatalf("%s: delete %d found=%v, model %v", name, k, had, model[k])
					}
					delete(model, k)
				} else {
					_, had := tr.ReplaceOrInsert(testEntry(k))
					if had != model[k] {
						t.Fatalf("%s: insert %d replaced=%v, model %v", name, k, had, model[k])
					}
					model[k] = true
				}
			}
			if got := checkTree(t, tr); len(got) != len(model) {
				t.Fatalf("%s after mutations: %d keys, want %d", name, len(got), len(model))
			}
			// A clone of a loaded tree is independent of it.
			c := tr.Clone()
			c.ReplaceOrInsert(testEntry(top + 1000))
			if _, ok := tr.Get(Entry{Key: testKey(top + 1000)}); ok {
				t.Fatalf("%s: clone shares writes", name)
			}
		}
	}
}

func BenchmarkBulkLoad(b *testing.B) {
	const n = 1_000_000
	es := make([]Entry, n)
	for i := range es {
		es[i] = testEntry(i)
	}
	b.Run("bulkLoad", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			BulkLoad(btree.NewG[Entry](Degree, lessEntry), es)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("ReplaceOrInsert", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tr := btree.NewG[Entry](Degree, lessEntry)
			for _, e := range es {
				tr.ReplaceOrInsert(e)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
