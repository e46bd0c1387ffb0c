package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/persistence"
)

// allCoreCodes lists every core.Code but CodeOK.
var allCoreCodes = []core.Code{
	core.CodeBadArgument, core.CodeNotFound, core.CodeTrap, core.CodeTimeout, core.CodeLimit,
	core.CodeSchema, core.CodeAccess, core.CodeDuplicateKey, core.CodeType, core.CodeClosed,
	core.CodeInternal, core.CodeReducerFailed, core.CodeCycle, core.CodeUnsupported,
	core.CodeIncompatible, core.CodeReadOnly, core.CodePoisoned,
	core.CodeCorrupt, core.CodeTornTail, core.CodeIO, core.CodeLocked, core.CodeVersion,
	core.CodeInvalidWasm, core.CodeMissingExport, core.CodeBadImport, core.CodeMalformed,
	core.CodeABIVersion, core.CodeBadName, core.CodeDuplicateName, core.CodeUnknownType,
	core.CodeBadPrimaryKey, core.CodeBadSubscription,
}

// TestCoreCodesMapped checks the mapping documented in include/interstice.h
// ("Status codes"): every core runtime class (1..22) has its own status,
// every status is #defined in the header and named by
// interstice_status_str, and pinned values did not move.
func TestCoreCodesMapped(t *testing.T) {
	hdr, err := os.ReadFile("../include/interstice.h")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[int]string{}
	for _, m := range regexp.MustCompile(`(?m)^#define (INTERSTICE_(?:OK|E_[A-Z_]+))\s+(\d+)`).FindAllSubmatch(hdr, -1) {
		v, _ := strconv.Atoi(string(m[2]))
		if prev, dup := defined[v]; dup {
			t.Errorf("status %d defined twice: %s and %s", v, prev, m[1])
		}
		defined[v] = string(m[1])
	}
	for v := range defined {
		if _, ok := statusNames[v]; !ok {
			t.Errorf("status %d (%s) has no interstice_status_str name", v, defined[v])
		}
	}
	seen := map[int]core.Code{}
	for _, c := range allCoreCodes {
		if c.String() == fmt.Sprintf("code(%d)", int(c)) {
			t.Fatalf("allCoreCodes holds unknown code %d", c)
		}
		s := coreStatus(c)
		if _, ok := defined[s]; !ok {
			t.Errorf("core %d (%v) maps to status %d, not in the header", c, c, s)
		}
		if c == core.CodeInternal {
			if s != eInternal {
				t.Errorf("internal maps to %d", s)
			}
		} else if s == eInternal {
			t.Errorf("core %d (%v) maps to INTERNAL", c, c)
		}
		if c <= core.CodeVersion {
			if prev, dup := seen[s]; dup {
				t.Errorf("core %v and %v share status %d", prev, c, s)
			}
			seen[s] = c
		}
		if got := statusOf(&core.Error{Code: c}); got != s {
			t.Errorf("statusOf(core %v) = %d, want %d", c, got, s)
		}
		if got := detailOf(fmt.Errorf("wrapped: %w", &core.Error{Code: c})); got != int(c) {
			t.Errorf("detailOf(core %v) = %d", c, got)
		}
	}
	for c := core.CodeBadArgument; c <= core.CodeIncompatible; c++ {
		if coreStatus(c) != int(c) {
			t.Errorf("core %v: status %d, pinned to the same number", c, coreStatus(c))
		}
	}
	pinned := map[int]int{eInvalidModule: 16, ePoisoned: 23, eReadOnly: 24, eLocked: 28, eCorrupt: 20, eIO: 22}
	for got, want := range pinned {
		if got != want {
			t.Errorf("pinned status %d moved to %d", want, got)
		}
	}
	if coreStatus(core.CodeReadOnly) != eReadOnly || coreStatus(core.CodePoisoned) != ePoisoned {
		t.Errorf("read-only / poisoned mapping")
	}
	// A core INTERNAL error wrapping a log failure reports the cause.
	for cause, want := range map[error]int{
		persistence.ErrLocked:                                        eLocked,
		fmt.Errorf("x: %w", persistence.ErrCorrupt):                  eCorrupt,
		persistence.ErrTornTail:                                      eTornTail,
		persistence.ErrVersion:                                       eVersion,
		&os.PathError{Op: "open", Path: "/x", Err: os.ErrPermission}: eIO,
		fmt.Errorf("plain"):                                          eInternal,
	} {
		e := &core.Error{Code: core.CodeInternal, Msg: "open log", Err: cause}
		if got := statusOf(fmt.Errorf("outer: %w", e)); got != want {
			t.Errorf("statusOf(internal wrapping %v) = %d, want %d", cause, got, want)
		}
	}
	// A specific core code wins over its cause.
	if got := statusOf(&core.Error{Code: core.CodePoisoned, Err: persistence.ErrCorrupt}); got != ePoisoned {
		t.Errorf("poisoned wrapping corrupt = %d", got)
	}
	if detailOf(persistence.ErrLocked) != 0 {
		t.Errorf("detail of a non-core error is not 0")
	}
}
