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
