package core

import (
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// TestHostFuncsTable checks the shape goFunc relies on: every import has
// exactly one implementation, an fn import has one i32 result (its status),
// and the index used by the import checks holds every entry once.
func TestHostFuncsTable(t *testing.T) {
	if len(hostSigs) != len(hostFuncs) {
		t.Fatalf("hostSigs has %d entries, hostFuncs %d (a duplicate name?)", len(hostSigs), len(hostFuncs))
	}
	for i := range hostFuncs {
		h := &hostFuncs[i]
		t.Run(h.name, func(t *testing.T) {
			if (h.fn == nil) == (h.raw == nil) {
				t.Fatalf("want exactly one of fn and raw")
			}
			if h.fn != nil && (len(h.results) != 1 || h.results[0] != api.ValueTypeI32) {
				t.Fatalf("fn import has results %v, want one i32", h.results)
			}
			if hostSigs[h.name] != h {
				t.Fatalf("hostSigs[%q] is not this entry", h.name)
			}
		})
	}
}
