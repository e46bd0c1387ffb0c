package sdk

import "github.com/interstice/interstice/internal/abi"

// Guest-side buffers. A module instance runs one reducer at a time (the host
// never re-enters a module that is on the call stack), so one of each is
// enough. They are package variables: the Go garbage collector never moves
// objects and never frees one that a variable references, so the host may
// write into them between calls.
//
// Rows, keys and arguments are encoded into the row writer's buffer (wr,
// encode.go), also one per instance.
var (
	readBuf = make([]byte, 1024) // get / scan_next output; grows
	readLen uint32               // out_len_ptr target
	argsBuf []byte               // interstice_alloc; grows
)

// readInto runs a get/scan_next style host call, growing readBuf while the
// host answers ERR_BUFFER_TOO_SMALL, and returns the bytes written. The
// bytes are valid until the next readInto.
func readInto(f func(buf []byte, n *uint32) int32) ([]byte, int32) {
	for {
		readLen = 0
		st := f(readBuf, &readLen)
		if st == abi.StatusBufferTooSmall && int(readLen) > len(readBuf) {
			readBuf = make([]byte, max(int(readLen), 2*len(readBuf)))
			continue
		}
		if st != abi.StatusOK || int(readLen) > len(readBuf) {
			if st == abi.StatusOK {
				st = abi.StatusBadArgument // the host claimed more bytes than fit
			}
			return nil, st
		}
		return readBuf[:readLen], st
	}
}

// alloc is the body of the interstice_alloc export: it returns a buffer of
// at least size bytes that stays valid until the next alloc.
func alloc(size int32) []byte {
	if size < 0 || size > maxAlloc {
		return nil
	}
	if cap(argsBuf) < int(size) || cap(argsBuf) == 0 {
		argsBuf = make([]byte, max(int(size), 256, 2*cap(argsBuf)))
	}
	return argsBuf[:cap(argsBuf)]
}

// maxAlloc bounds one host→guest buffer (1 GiB): a larger request is
// refused with 0 instead of exhausting guest memory.
const maxAlloc = 1 << 30
