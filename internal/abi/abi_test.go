package abi

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// statusNames names each constant as docs/ABI.md does.
var statusNames = map[int32]string{
	StatusOK: "OK", StatusDone: "DONE",
	StatusBadArgument: "ERR_BAD_ARGUMENT", StatusNoTable: "ERR_NO_TABLE", StatusAccess: "ERR_ACCESS",
	StatusType: "ERR_TYPE", StatusDuplicateKey: "ERR_DUPLICATE_KEY", StatusNotFound: "ERR_NOT_FOUND",
	StatusBufferTooSmall: "ERR_BUFFER_TOO_SMALL", StatusLimit: "ERR_LIMIT", StatusNoReducer: "ERR_NO_REDUCER",
	StatusCycle: "ERR_CYCLE", StatusReducerFailed: "ERR_REDUCER_FAILED", StatusBadIterator: "ERR_BAD_ITERATOR",
}

// TestStatusTableMatchesDocs: docs/ABI.md's "Status codes" table and the
// constants are the same set of (value, name) pairs.
func TestStatusTableMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| (-?\\d+) \\| `([A-Z_]+)` \\|").FindAllSubmatch(doc, -1)
	if len(rows) == 0 {
		t.Fatal("no status table in docs/ABI.md")
	}
	seen := map[int32]bool{}
	for _, m := range rows {
		v, _ := strconv.Atoi(string(m[1]))
		name, ok := statusNames[int32(v)]
		if !ok || name != string(m[2]) {
			t.Errorf("docs/ABI.md lists %d %s; abi has %q", v, m[2], name)
		}
		seen[int32(v)] = true
	}
	for v, name := range statusNames {
		if !seen[v] {
			t.Errorf("abi status %d %s is not in docs/ABI.md", v, name)
		}
	}
}
