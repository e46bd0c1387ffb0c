package sdk

import (
	"fmt"

	"github.com/interstice/interstice/internal/abi"
	"github.com/interstice/interstice/row"
)

// DynamicTable is an untyped handle on any table the host can resolve: the
// module's own ("table") or another module's ("module.table"). Rows are
// []any of the Go types of package row (bool, uint32, uint64, int32, int64,
// float32, float64, string, []byte, []any, nil); other Go values are
// converted as for Ctx.Call. The host enforces access: writes to another
// module's table fail with ErrAccess, reads of a private one too.
//
// Typed handles (Table, ExternalTable) are the normal way; DynamicTable is
// for generic code and tests.
type DynamicTable struct{ ref tableRef }

// Dynamic returns an untyped handle on the table name.
func Dynamic(name string) *DynamicTable { return &DynamicTable{ref: tableRef{name: name}} }

func encodeAny(values []any) ([]byte, error) {
	vals := make([]any, len(values))
	for i, v := range values {
		x, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
		vals[i] = x
	}
	return encode(vals)
}

// Insert inserts a row given as its column values.
func (t *DynamicTable) Insert(values ...any) error {
	buf, err := encodeAny(values)
	if err != nil {
		return err
	}
	return t.ref.write("insert", hostInsert, buf)
}

// Update replaces the row with the same primary key.
func (t *DynamicTable) Update(values ...any) error {
	buf, err := encodeAny(values)
	if err != nil {
		return err
	}
	return t.ref.write("update", hostUpdate, buf)
}

// Delete deletes the row with primary key key (of the key column's exact
// type: uint64(1), not 1).
func (t *DynamicTable) Delete(key any) error {
	buf, err := encodeAny([]any{key})
	if err != nil {
		return err
	}
	return t.ref.write("delete", hostDelete, buf)
}

// Get returns the values of the row with primary key key.
func (t *DynamicTable) Get(key any) ([]any, bool, error) {
	kb, err := encodeAny([]any{key})
	if err != nil {
		return nil, false, err
	}
	var out []byte
	st, err := t.ref.do("get", func(h int32) int32 {
		var st int32
		out, st = readInto(func(buf []byte, n *uint32) int32 { return hostGet(h, kb, buf, n) })
		return st
	})
	if st == abi.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	vals, err := row.Decode(out)
	return vals, err == nil, err
}

// Count returns the number of rows.
func (t *DynamicTable) Count() (int64, error) {
	var n int64
	_, err := t.ref.do("count", func(h int32) int32 {
		if n = hostCount(h); n < 0 {
			return int32(n)
		}
		return 0
	})
	return n, err
}

// Scan calls fn with each row's values in primary-key order until fn
// returns false.
func (t *DynamicTable) Scan(fn func([]any) bool) error {
	it, err := t.ref.do("scan", func(h int32) int32 { return hostScanOpen(h) })
	if err != nil {
		return err
	}
	defer hostScanClose(it)
	for {
		out, st := readInto(func(buf []byte, n *uint32) int32 { return hostScanNext(it, buf, n) })
		if st == abi.StatusDone {
			return nil
		}
		if st < 0 {
			return hostErr("scan", t.ref.name, st)
		}
		vals, err := row.Decode(out)
		if err != nil {
			return fmt.Errorf("scan %s: %w", t.ref.name, err)
		}
		if !fn(vals) {
			return nil
		}
	}
}
