package main

import (
	"strings"
	"testing"
)

// TestCallErrorSaysEachFactOnce: `call` printed `interstice: core: reducer
// failed: module counter reducer reset: no counter "nobody": core: not
// found: module counter reducer reset table ...`, saying the module and
// reducer twice and the guest's words after the place.
func TestCallErrorSaysEachFactOnce(t *testing.T) {
	dir := dataDir(t)
	tests := []struct {
		name, reducer, args, want string
	}{
		{"reducer failure", "reset", `["nobody"]`,
			`interstice: reducer failed: no counter "nobody" (module counter, reducer reset): not found: update: no row with this primary key (table counter.counters, column name)`},
		{"missing argument", "add", `{"name":"a"}`,
			`interstice: type mismatch: add(name string, by i64): missing argument "by" (i64) (module counter)`},
		{"argument count", "add", `["a"]`,
			`interstice: type mismatch: add(name string, by i64): 1 argument given, 2 expected (module counter)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI("call", "--quiet", dir, "counter", tc.reducer, tc.args)
			if code != exitFailed || strings.TrimSpace(errOut) != tc.want {
				t.Fatalf("exit %d, stderr\n  %s\nwant\n  %s", code, strings.TrimSpace(errOut), tc.want)
			}
		})
	}
}
