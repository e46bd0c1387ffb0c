package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/interstice/interstice/core"
)

// TestMessageSaysTheStatusOnce: interstice_error.message repeated the
// status ("reducer failed: core: reducer failed: module bank reducer
// deposit: ..." as a host prints status and message), and the module's
// own words had no field of their own.
func TestMessageSaysTheStatusOnce(t *testing.T) {
	guest := &core.Error{Code: core.CodeReducerFailed, Module: "bank", Reducer: "deposit", GuestMsg: `no account "zed"`}
	tests := []struct {
		name       string
		err        error
		msg, guest string
	}{
		{"reducer failure", guest, `no account "zed" (module bank, reducer deposit)`, `no account "zed"`},
		{"trap with a panic", &core.Error{Code: core.CodeTrap, Module: "m", GuestMsg: "panic: boom", Msg: "wasm error: unreachable"},
			"panic: boom: wasm error: unreachable (module m)", "panic: boom"},
		{"no guest words", &core.Error{Code: core.CodeNotFound, Module: "m", Msg: "no such reducer"}, "no such reducer (module m)", ""},
		{"guest words under another code are not the guest's failure", &core.Error{Code: core.CodeTimeout, Module: "bank", Reducer: "deposit", Msg: "call exceeded its deadline", Err: guest},
			`call exceeded its deadline (module bank, reducer deposit): reducer failed: no account "zed"`, ""},
		{"load failure keeps its finer code", &core.Error{Code: core.CodeBadName, Module: "m", Msg: `table "1x"`}, `bad name: table "1x" (module m)`, ""},
		{"bare code", core.ErrTimeout, "timeout", ""},
		{"wrapped core error keeps its text", fmt.Errorf("load: %w", guest), `load: core: reducer failed: no account "zed" (module bank, reducer deposit)`, `no account "zed"`},
		{"other error", errors.New("persistence: x"), "persistence: x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := messageOf(tc.err, statusOf(tc.err)); got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
			if got := guestOf(tc.err); got != tc.guest {
				t.Errorf("guest_message %q, want %q", got, tc.guest)
			}
		})
	}
}
