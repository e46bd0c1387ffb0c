//go:build wasip1

package main

import (
	"unsafe"

	"github.com/interstice/interstice/row"
)

// Raw host imports, declared here so the probes can pass addresses the SDK
// never would.

//go:wasmimport interstice table
func rawTable(namePtr, nameLen uint32) int32

//go:wasmimport interstice insert
func rawInsert(table int32, rowPtr, rowLen uint32) int32

//go:wasmimport interstice get
func rawGet(table int32, keyPtr, keyLen, outPtr, outCap, outLenPtr uint32) int32

//go:wasmimport interstice scan_next
func rawScanNext(iter int32, outPtr, outCap, outLenPtr uint32) int32

//go:wasmimport interstice call
func rawCall(modPtr, modLen, redPtr, redLen, argsPtr, argsLen uint32) int32

const farAway = 0xFFFFFF00

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// keep holds buffers whose addresses were passed as integers.
var keep [][]byte

func buf(b []byte) (uint32, uint32) {
	keep = append(keep[:0], b)
	return addr(b), uint32(len(b))
}

func mineHandle() int32 {
	p, n := buf([]byte("mine"))
	return rawTable(p, n)
}

func rawBadPointer() int32 {
	h := mineHandle()
	if h < 0 {
		return h
	}
	return rawInsert(h, farAway, 64)
}

func rawBadLength() int32 {
	h := mineHandle()
	if h < 0 {
		return h
	}
	p, _ := buf(make([]byte, 16))
	return rawInsert(h, p, 0x7FFFFFFF)
}

func rawBadRow() int32 {
	h := mineHandle()
	if h < 0 {
		return h
	}
	p, n := buf([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	return rawInsert(h, p, n)
}

func rawWrongType() int32 {
	h := mineHandle()
	if h < 0 {
		return h
	}
	p, n := buf(row.MustEncode("not a u64", "v"))
	return rawInsert(h, p, n)
}

func rawBadHandle() int32 {
	p, n := buf(row.MustEncode(uint64(1), "v"))
	return rawInsert(12345, p, n)
}

func rawBadIterator() int32 {
	out := make([]byte, 64)
	var n [4]byte
	keep = append(keep[:0], out, n[:])
	return rawScanNext(9999, addr(out), 64, addr(n[:]))
}

func rawBadOutLenPtr() int32 {
	h := mineHandle()
	if h < 0 {
		return h
	}
	key := row.MustEncode(uint64(1))
	out := make([]byte, 256)
	keep = append(keep[:0], key, out)
	return rawGet(h, addr(key), uint32(len(key)), addr(out), 256, farAway)
}

func rawBadName() int32 {
	if st := rawTable(0, 0); st < 0 {
		return st
	}
	p, n := buf([]byte("a.b.c"))
	if st := rawTable(p, n); st < 0 {
		return st
	}
	return 0
}

func rawBadCall() int32 {
	red := []byte("ping")
	args := row.MustEncode()
	keep = append(keep[:0], red, args)
	return rawCall(farAway, 8, addr(red), uint32(len(red)), addr(args), uint32(len(args)))
}
