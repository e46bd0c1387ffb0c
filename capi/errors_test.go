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
	core.CodeIncompatible, core.CodeInvalidModule, core.CodeReadOnly, core.CodePoisoned,
	core.CodeCorrupt, core.CodeTornTail, core.CodeIO, core.CodeLocked, core.CodeVersion, core.CodeCompacted,
	core.CodeInvalidWasm, core.CodeMissingExport, core.CodeBadImport, core.CodeMalformed,
	core.CodeABIVersion, core.CodeBadName, core.CodeDuplicateName, core.CodeUnknownType,
	core.CodeBadPrimaryKey, core.CodeBadSubscription,
}

// TestCoreCodesMapped checks the one error table documented in
// include/interstice.h ("Status codes"): every primary core.Code is its C
// status, the same number, #defined in the header and named by
// interstice_status_str; each extended code reports its primary class;
// detail keeps the numbers it had since 0.1.
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
	// The capi constants are the core codes.
	for c, st := range map[core.Code]int{
		core.CodeOK: eOK, core.CodeBadArgument: eBadArgument, core.CodeNotFound: eNotFound, core.CodeTrap: eTrap,
		core.CodeTimeout: eTimeout, core.CodeLimit: eLimit, core.CodeSchema: eSchema, core.CodeAccess: eAccess,
		core.CodeDuplicateKey: eDuplicateKey, core.CodeType: eType, core.CodeClosed: eClosed, core.CodeInternal: eInternal,
		core.CodeReducerFailed: eReducerFailed, core.CodeCycle: eCycle, core.CodeUnsupported: eUnsupported,
		core.CodeIncompatible: eIncompatible, core.CodeInvalidModule: eInvalidModule, core.CodeCorrupt: eCorrupt,
		core.CodeTornTail: eTornTail, core.CodeIO: eIO, core.CodePoisoned: ePoisoned, core.CodeReadOnly: eReadOnly,
		core.CodeVersion: eVersion, core.CodeCompacted: eCompacted, core.CodeLocked: eLocked,
	} {
		if int(c) != st {
			t.Errorf("core %v is %d, its status %d", c, int(c), st)
		}
	}
	// detail is pinned: the numbers of 0.1.
	legacy := map[core.Code]int{core.CodeReadOnly: 16, core.CodePoisoned: 17, core.CodeCorrupt: 18, core.CodeTornTail: 19,
		core.CodeIO: 20, core.CodeLocked: 21, core.CodeVersion: 22, core.CodeCompacted: 11}
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
		switch {
		case c >= core.CodeInvalidWasm && c <= core.CodeBadImport:
			if s != eInvalidModule {
				t.Errorf("core %v: status %d, want INVALID_MODULE", c, s)
			}
		case c >= core.CodeMalformed:
			if s != eSchema {
				t.Errorf("core %v: status %d, want SCHEMA", c, s)
			}
		case s != int(c):
			t.Errorf("core %v: status %d, want the same number", c, s)
		}
		if got := statusOf(&core.Error{Code: c}); got != s {
			t.Errorf("statusOf(core %v) = %d, want %d", c, got, s)
		}
		want := int(c)
		if d, ok := legacy[c]; ok {
			want = d
		}
		if got := detailOf(fmt.Errorf("wrapped: %w", &core.Error{Code: c})); got != want {
			t.Errorf("detailOf(core %v) = %d, want %d", c, got, want)
		}
	}
	pinned := map[int]int{eInvalidModule: 16, ePoisoned: 23, eReadOnly: 24, eLocked: 28, eCorrupt: 20, eIO: 22, eBusy: 27}
	for got, want := range pinned {
		if got != want {
			t.Errorf("pinned status %d moved to %d", want, got)
		}
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
