//go:build ppc64 || s390x || mips || mips64

package sdk

import (
	"encoding/binary"
	"unsafe"
)

// Little-endian stores on big-endian machines (see store_le.go).

func put16(p unsafe.Pointer, x uint16) { binary.LittleEndian.PutUint16(unsafe.Slice((*byte)(p), 2), x) }
func put32(p unsafe.Pointer, x uint32) { binary.LittleEndian.PutUint32(unsafe.Slice((*byte)(p), 4), x) }
func put64(p unsafe.Pointer, x uint64) { binary.LittleEndian.PutUint64(unsafe.Slice((*byte)(p), 8), x) }
