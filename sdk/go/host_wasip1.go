//go:build wasip1

package sdk

import "unsafe"

// The host imports (docs/ABI.md, "Imports the host provides"). Pointers are
// guest linear-memory addresses; the Go garbage collector does not move
// objects, and every buffer passed here is referenced for the whole call.

//go:wasmimport interstice table
func impTable(name unsafe.Pointer, nameLen int32) int32

//go:wasmimport interstice insert
func impInsert(table int32, row unsafe.Pointer, rowLen int32) int32

//go:wasmimport interstice update
func impUpdate(table int32, row unsafe.Pointer, rowLen int32) int32

//go:wasmimport interstice delete
func impDelete(table int32, key unsafe.Pointer, keyLen int32) int32

//go:wasmimport interstice get
func impGet(table int32, key unsafe.Pointer, keyLen int32, out unsafe.Pointer, outCap int32, outLen unsafe.Pointer) int32

//go:wasmimport interstice count
func impCount(table int32) int64

//go:wasmimport interstice scan_open
func impScanOpen(table int32) int32

//go:wasmimport interstice scan_next
func impScanNext(iter int32, out unsafe.Pointer, outCap int32, outLen unsafe.Pointer) int32

//go:wasmimport interstice scan_close
func impScanClose(iter int32) int32

//go:wasmimport interstice call
func impCall(module unsafe.Pointer, moduleLen int32, reducer unsafe.Pointer, reducerLen int32, args unsafe.Pointer, argsLen int32) int32

//go:wasmimport interstice log
func impLog(level int32, msg unsafe.Pointer, msgLen int32) int32

//go:wasmimport interstice fail
func impFail(msg unsafe.Pointer, msgLen int32) int32

//go:wasmimport interstice abort
func impAbort(msg unsafe.Pointer, msgLen int32)

func bp(b []byte) (unsafe.Pointer, int32) { return unsafe.Pointer(unsafe.SliceData(b)), int32(len(b)) }
func sp(s string) (unsafe.Pointer, int32) { return unsafe.Pointer(unsafe.StringData(s)), int32(len(s)) }

func hostTable(name string) int32 { p, n := sp(name); return impTable(p, n) }

func hostInsert(t int32, row []byte) int32 { p, n := bp(row); return impInsert(t, p, n) }

func hostUpdate(t int32, row []byte) int32 { p, n := bp(row); return impUpdate(t, p, n) }

func hostDelete(t int32, key []byte) int32 { p, n := bp(key); return impDelete(t, p, n) }

func hostGet(t int32, key, out []byte, outLen *uint32) int32 {
	kp, kn := bp(key)
	op, on := bp(out)
	return impGet(t, kp, kn, op, on, unsafe.Pointer(outLen))
}

func hostCount(t int32) int64 { return impCount(t) }

func hostScanOpen(t int32) int32 { return impScanOpen(t) }

func hostScanNext(it int32, out []byte, outLen *uint32) int32 {
	op, on := bp(out)
	return impScanNext(it, op, on, unsafe.Pointer(outLen))
}

func hostScanClose(it int32) int32 { return impScanClose(it) }

func hostCall(module, reducer string, args []byte) int32 {
	mp, mn := sp(module)
	rp, rn := sp(reducer)
	ap, an := bp(args)
	return impCall(mp, mn, rp, rn, ap, an)
}

func hostLog(level int32, msg string) int32 { p, n := sp(msg); return impLog(level, p, n) }

func hostFail(msg string) int32 { p, n := sp(msg); return impFail(p, n) }

func hostAbort(msg string) { p, n := sp(msg); impAbort(p, n) }

// The exports (docs/ABI.md, "Exports the guest provides"). They live in the
// SDK, so a module's own code is plain Go.

//go:wasmexport interstice_describe
func exportDescribe() int64 {
	s := describe()
	return int64(uint64(uintptr(unsafe.Pointer(unsafe.SliceData(s))))<<32 | uint64(len(s)))
}

//go:wasmexport interstice_alloc
func exportAlloc(size int32) int32 {
	b := alloc(size)
	if b == nil {
		return 0
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

//go:wasmexport interstice_call
func exportCall(reducer, argsPtr, argsLen int32) int32 {
	var args []byte
	if argsLen > 0 {
		// The host normally writes into the buffer alloc returned; any
		// other address is taken as the host gives it.
		base := uintptr(unsafe.Pointer(unsafe.SliceData(argsBuf)))
		off := uintptr(uint32(argsPtr)) - base
		if uintptr(uint32(argsPtr)) >= base && off+uintptr(argsLen) <= uintptr(cap(argsBuf)) {
			args = argsBuf[off : off+uintptr(argsLen)]
		} else {
			args = unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), uint32(argsPtr))), argsLen)
		}
	}
	return dispatch(reducer, args)
}
