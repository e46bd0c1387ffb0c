package core

import (
	"testing"

	"github.com/tetratelabs/wazero/api"
)

// TestHostFuncsTable checks the shape goFunc relies on: every import has
// exactly one implementation, an fn import has one i32 result (its status),
// and the list the import checks use holds every entry once, as typed.
func TestHostFuncsTable(t *testing.T) {
	imports := map[string]int{}
	for i, im := range hostImports() {
		if _, dup := imports[im.Name]; dup {
			t.Fatalf("import %q listed twice", im.Name)
		}
		imports[im.Name] = i
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
			im := hostImports()[imports[h.name]]
			if im.Name != h.name || string(im.Params) != string(h.params) || string(im.Results) != string(h.results) {
				t.Fatalf("the import checks see %+v", im)
			}
		})
	}
}
