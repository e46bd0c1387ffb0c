// Command limits breaks each per-call limit of the host on request.
//
// Module "limits" 1.0.0
//
//	table blobs (private): id u64 (pk), data bytes
//	spin()                    loops forever (deadline test)
//	spin_after_insert(id u64) inserts a blob row, then loops forever (the insert must roll back)
//	grow(mb u32)              allocates mb MiB, touches every page and keeps it referenced (memory-page limit test)
//	bomb()                    allocates 16 MiB more, forever, until memory runs out
//	huge_row(id u64, size u32) inserts a row whose data is size bytes; returns the host's error
//	                          (expect ERR_LIMIT: "insert blobs: interstice: limit exceeded")
//	echo_len(data bytes)      accepts any argument (argument size limit test); inserts a row {id: len(data)}
//	recurse(depth u32)        recurses depth levels deep with 1 KiB frames (stack growth)
package main

import (
	sdk "github.com/interstice/interstice/sdk/go"
)

// Blob is one row of the blobs table.
type Blob struct {
	ID   uint64 `ist:"id,pk"`
	Data []byte `ist:"data"`
}

var blobs = sdk.Table[Blob]("blobs", sdk.Private)

// kept holds memory so the garbage collector cannot release it.
var kept [][]byte

var spins uint64

func spin() {
	for {
		spins++
	}
}

func grow(mb uint32) {
	for i := uint32(0); i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		kept = append(kept, b)
	}
}

//go:noinline
func recurse(n uint32) uint32 {
	var frame [1024]byte
	frame[n%1024] = byte(n)
	if n == 0 {
		return uint32(frame[0])
	}
	return recurse(n-1) + uint32(frame[n%1024])
}

func init() {
	sdk.Module("limits", "1.0.0")
	sdk.Reducer("spin", func(*sdk.Ctx) error { spin(); return nil })
	sdk.Reducer("spin_after_insert", func(_ *sdk.Ctx, id uint64) error {
		if err := blobs.Insert(Blob{ID: id, Data: []byte("x")}); err != nil {
			return err
		}
		spin()
		return nil
	}, "id")
	sdk.Reducer("grow", func(_ *sdk.Ctx, mb uint32) error { grow(mb); return nil }, "mb")
	sdk.Reducer("bomb", func(*sdk.Ctx) error {
		for {
			grow(16)
		}
	})
	sdk.Reducer("huge_row", func(_ *sdk.Ctx, id uint64, size uint32) error {
		return blobs.Insert(Blob{ID: id, Data: make([]byte, size)})
	}, "id", "size")
	sdk.Reducer("echo_len", func(_ *sdk.Ctx, data []byte) error {
		return blobs.Upsert(Blob{ID: uint64(len(data))})
	}, "data")
	sdk.Reducer("recurse", func(_ *sdk.Ctx, depth uint32) error { recurse(depth); return nil }, "depth")
}

func main() {}
