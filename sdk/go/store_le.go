//go:build !(ppc64 || s390x || mips || mips64)

package sdk

import "unsafe"

// Little-endian stores into the row writer's buffer, which FlatBuffers
// lays out little-endian. The writer makes room before it writes, so these
// skip the bounds checks of a slice store (about a fifth of the writer's
// work in a wasm guest). On little-endian machines, wasm included, they
// are plain stores; store_be.go has the byte-swapping ones.

func put16(p unsafe.Pointer, x uint16) { *(*uint16)(p) = x }
func put32(p unsafe.Pointer, x uint32) { *(*uint32)(p) = x }
func put64(p unsafe.Pointer, x uint64) { *(*uint64)(p) = x }
