package sdk

import (
	"errors"
	"fmt"

	"github.com/interstice/interstice/internal/abi"
)

// Sentinel errors, one per host status code. A host failure is returned as
// a *HostError that matches its sentinel with errors.Is:
//
//	if err := players.Insert(p); errors.Is(err, sdk.ErrDuplicateKey) { ... }
var (
	ErrBadArgument    = errors.New("interstice: bad argument")
	ErrNoTable        = errors.New("interstice: no such table")
	ErrAccess         = errors.New("interstice: access denied")
	ErrType           = errors.New("interstice: type mismatch")
	ErrDuplicateKey   = errors.New("interstice: duplicate key")
	ErrNotFound       = errors.New("interstice: not found")
	ErrBufferTooSmall = errors.New("interstice: buffer too small")
	ErrLimit          = errors.New("interstice: limit exceeded")
	ErrNoReducer      = errors.New("interstice: no such reducer")
	ErrCycle          = errors.New("interstice: call cycle")
	ErrReducerFailed  = errors.New("interstice: reducer failed")
	ErrBadIterator    = errors.New("interstice: bad iterator")
	// ErrNotInHost is returned by host operations in a native (non-wasm)
	// build, where no Interstice host exists.
	ErrNotInHost = errors.New("interstice: not running inside an Interstice host")
)

var statusErrors = map[int32]error{
	abi.StatusBadArgument:    ErrBadArgument,
	abi.StatusNoTable:        ErrNoTable,
	abi.StatusAccess:         ErrAccess,
	abi.StatusType:           ErrType,
	abi.StatusDuplicateKey:   ErrDuplicateKey,
	abi.StatusNotFound:       ErrNotFound,
	abi.StatusBufferTooSmall: ErrBufferTooSmall,
	abi.StatusLimit:          ErrLimit,
	abi.StatusNoReducer:      ErrNoReducer,
	abi.StatusCycle:          ErrCycle,
	abi.StatusReducerFailed:  ErrReducerFailed,
	abi.StatusBadIterator:    ErrBadIterator,
}

// HostError is a failed host call: the operation, what it was applied to,
// and the ABI status code.
type HostError struct {
	Op     string // "insert", "get", "call", ...
	Target string // table name, or "module.reducer" for a call
	Code   int32  // negative ABI status code
}

func (e *HostError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Op, e.Target, e.sentinel().Error())
}

func (e *HostError) sentinel() error {
	if s, ok := statusErrors[e.Code]; ok {
		return s
	}
	return fmt.Errorf("interstice: status %d", e.Code)
}

// Unwrap returns the sentinel error of the status code (ErrDuplicateKey,
// ErrNotFound, ...), so errors.Is works.
func (e *HostError) Unwrap() error { return e.sentinel() }

func hostErr(op, target string, code int32) error {
	if code >= 0 {
		return nil
	}
	return &HostError{Op: op, Target: target, Code: code}
}
