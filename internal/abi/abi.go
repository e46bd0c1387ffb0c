// Package abi holds what the host (core) and the guest SDK (sdk/go) must
// agree on about the guest ABI, so that neither keeps its own copy: the
// status codes the host imports return (docs/ABI.md, "Status codes").
//
// It owns constants only and imports nothing: both sides of the ABI import
// it, the guest side compiled to wasm.
package abi

// Status codes returned by the host imports. Values are pinned by the ABI
// (docs/ABI.md); new codes may be added, existing ones never change.
const (
	StatusOK             int32 = 0
	StatusDone           int32 = 1 // iterator exhausted (scan_next only)
	StatusBadArgument    int32 = -1
	StatusNoTable        int32 = -2
	StatusAccess         int32 = -3
	StatusType           int32 = -4
	StatusDuplicateKey   int32 = -5
	StatusNotFound       int32 = -6
	StatusBufferTooSmall int32 = -7
	StatusLimit          int32 = -8
	StatusNoReducer      int32 = -9
	StatusCycle          int32 = -10
	StatusReducerFailed  int32 = -11
	StatusBadIterator    int32 = -12
)

// StatusNames maps each status to its name in docs/ABI.md.
var StatusNames = map[int32]string{
	StatusOK: "OK", StatusDone: "DONE",
	StatusBadArgument: "ERR_BAD_ARGUMENT", StatusNoTable: "ERR_NO_TABLE", StatusAccess: "ERR_ACCESS",
	StatusType: "ERR_TYPE", StatusDuplicateKey: "ERR_DUPLICATE_KEY", StatusNotFound: "ERR_NOT_FOUND",
	StatusBufferTooSmall: "ERR_BUFFER_TOO_SMALL", StatusLimit: "ERR_LIMIT", StatusNoReducer: "ERR_NO_REDUCER",
	StatusCycle: "ERR_CYCLE", StatusReducerFailed: "ERR_REDUCER_FAILED", StatusBadIterator: "ERR_BAD_ITERATOR",
}
