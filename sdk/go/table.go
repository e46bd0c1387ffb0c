package sdk

import (
	"fmt"
	"iter"
	"reflect"
	"unsafe"

	"github.com/interstice/interstice/internal/abi"
	"github.com/interstice/interstice/row"
)

// Visibility says whether other modules may read a table.
type Visibility bool

const (
	// Private tables are read and written by their module only.
	Private Visibility = false
	// Public tables can be read (never written) by other modules, and other
	// modules can subscribe to their events.
	Public Visibility = true
)

// tableRef is a lazily resolved host table handle. Handles are resolved on
// first use inside a reducer and cached for the life of the instance; a
// cached handle the host no longer knows is resolved again once.
type tableRef struct {
	name   string // "table" or "module.table", as the host resolves it
	handle int32
	ok     bool
}

func (r *tableRef) get() (int32, error) {
	if r.ok {
		return r.handle, nil
	}
	h := hostTable(r.name)
	if h < 0 {
		return 0, hostErr("table", r.name, h)
	}
	r.handle, r.ok = h, true
	return h, nil
}

// do runs op with the table handle, re-resolving once if the host says the
// handle is unknown.
func (r *tableRef) do(op string, f func(h int32) int32) (int32, error) {
	h, err := r.get()
	if err != nil {
		return 0, err
	}
	st := f(h)
	if st == abi.StatusNoTable {
		r.ok = false
		if h, err = r.get(); err != nil {
			return 0, err
		}
		st = f(h)
	}
	if st < 0 {
		return st, hostErr(op, r.name, st)
	}
	return st, nil
}

// write runs op, a row write of buf through host call f. With a resolved
// handle it makes the import call at once (in a wasm guest each Go call
// around it costs about as much as writing a column); the rest is in
// writeFailed and writeSlow.
func (r *tableRef) write(op string, f func(h int32, buf []byte) int32, buf []byte) error {
	if r.ok {
		if st := f(r.handle, buf); st < 0 {
			return r.writeFailed(op, f, buf, st)
		}
		return nil
	}
	return r.writeSlow(op, f, buf)
}

// writeFailed handles status st < 0 of a write (host call f) with a
// resolved handle. As in do, ERR_NO_TABLE resolves the handle again and
// retries once.
func (r *tableRef) writeFailed(op string, f func(h int32, buf []byte) int32, buf []byte, st int32) error {
	if st != abi.StatusNoTable {
		return hostErr(op, r.name, st)
	}
	r.ok = false
	h, err := r.get()
	if err != nil {
		return err
	}
	return hostErr(op, r.name, f(h, buf))
}

// writeSlow runs a write through do, which resolves the handle.
func (r *tableRef) writeSlow(op string, f func(h int32, buf []byte) int32, buf []byte) error {
	_, err := r.do(op, func(h int32) int32 { return f(h, buf) })
	return err
}

// undeclared is the error of a handle whose declaration failed.
func (r *tableRef) undeclared() error {
	return fmt.Errorf("%w: table %s was not declared correctly", ErrBadArgument, r.name)
}

// upsert is the host calls of Upsert: update, then insert if there was no
// such row.
func upsert(h int32, buf []byte) int32 {
	st := hostUpdate(h, buf)
	if st == abi.StatusNotFound {
		st = hostInsert(h, buf)
	}
	return st
}

// ReadOnlyTable is a typed handle on a table that this module can read: the
// read half of every TableHandle, and what ExternalTable returns for another
// module's public table.
type ReadOnlyTable[T any] struct {
	ref  tableRef
	plan *rowPlan
	// scratch holds the row being encoded or decoded: a Go value whose
	// address is handed to the codecs would otherwise be moved to the heap
	// on every call.
	scratch, zero T
}

// TableHandle is a typed handle on one of the module's own tables. T is a
// struct whose exported fields are the columns (see Table).
type TableHandle[T any] struct {
	ReadOnlyTable[T]
}

// Table declares one of the module's tables and returns its typed handle.
// T is a struct; each exported field is a column, in field order, named by
// its `ist` tag (default: the field name in snake_case). One field carries
// the `pk` option and is the primary key:
//
//	type Counter struct {
//		Name  string `ist:"name,pk"`
//		Value int64  `ist:"value"`
//	}
//	var counters = sdk.Table[Counter]("counters", sdk.Public)
//
// Declare tables as package-level variables. Their methods work only while
// a reducer runs.
func Table[T any](name string, vis Visibility, opts ...TableOption) *TableHandle[T] {
	t := &TableHandle[T]{ReadOnlyTable[T]{ref: tableRef{name: name}}}
	plan, err := planFor(reflect.TypeFor[T]())
	if err != nil {
		regErr("table %s: %v", name, err)
		return t
	}
	t.plan = plan
	for _, o := range opts {
		if err := o.apply(plan); err != nil {
			regErr("table %s: %v", name, err)
			return t
		}
	}
	if !isIdent(name) {
		regErr("table name %q is not an identifier", name)
		return t
	}
	for _, d := range reg.tables {
		if d.name == name {
			regErr("duplicate table %q", name)
			return t
		}
	}
	reg.tables = append(reg.tables, &tableDef{name: name, public: bool(vis), plan: plan})
	return t
}

// TableOption is an optional part of a table declaration.
type TableOption struct {
	column string
	value  any
}

// Default gives a column its default value: the value that rows existing
// before an upgrade added the column take (docs/MIGRATIONS.md). value is a
// Go value convertible to the column's type; an optional column added
// without a Default defaults to null.
//
//	var players = sdk.Table[Player]("players", sdk.Public, sdk.Default("level", 1))
func Default(column string, value any) TableOption { return TableOption{column, value} }

func (o TableOption) apply(p *rowPlan) error {
	for i := range p.cols {
		c := &p.cols[i]
		if c.name != o.column {
			continue
		}
		v, err := toValue(o.value)
		if err == nil {
			v, err = row.Convert(v, c.c.typ)
		}
		if err == nil {
			c.def, err = row.Encode([]any{v})
		}
		if err != nil {
			return fmt.Errorf("default of column %s: %v", c.name, err)
		}
		return nil
	}
	return fmt.Errorf("default for unknown column %q", o.column)
}

// ExternalTable returns a read-only typed handle on another module's public
// table. T must list the table's columns in order (extra columns that a
// newer version of that module appended are ignored).
//
//	var players = sdk.ExternalTable[Player]("lobby", "players")
func ExternalTable[T any](module, table string) *ReadOnlyTable[T] {
	t := &ReadOnlyTable[T]{ref: tableRef{name: module + "." + table}}
	plan, err := planFor(reflect.TypeFor[T]())
	if err != nil {
		regErr("external table %s.%s: %v", module, table, err)
		return t
	}
	t.plan = plan
	return t
}

// Name returns the table name as the host resolves it ("table" or
// "module.table").
func (t *ReadOnlyTable[T]) Name() string { return t.ref.name }

// Insert adds a row. It fails with ErrDuplicateKey if the primary key is
// taken.
func (t *TableHandle[T]) Insert(r T) error {
	buf, err := t.encodeRow(r)
	if err != nil {
		return err
	}
	return t.ref.write("insert", hostInsert, buf)
}

// Update replaces the row with the same primary key. It fails with
// ErrNotFound if there is none.
func (t *TableHandle[T]) Update(r T) error {
	buf, err := t.encodeRow(r)
	if err != nil {
		return err
	}
	return t.ref.write("update", hostUpdate, buf)
}

// Upsert updates the row with the same primary key, or inserts it.
func (t *TableHandle[T]) Upsert(r T) error {
	buf, err := t.encodeRow(r)
	if err != nil {
		return err
	}
	return t.ref.write("update", upsert, buf)
}

// Delete removes the row with primary key key. It fails with ErrNotFound if
// there is none. key may be any Go value convertible to the key column's
// type (an untyped integer constant works for every integer key).
func (t *TableHandle[T]) Delete(key any) error {
	buf, err := t.encodeKey(key)
	if err != nil {
		return err
	}
	return t.ref.write("delete", hostDelete, buf)
}

// Get returns the row with primary key key; ok is false if there is none.
func (t *ReadOnlyTable[T]) Get(key any) (r T, ok bool, err error) {
	kb, err := t.encodeKey(key)
	if err != nil {
		return r, false, err
	}
	var out []byte
	st, err := t.ref.do("get", func(h int32) int32 {
		var st int32
		out, st = readInto(func(buf []byte, n *uint32) int32 { return hostGet(h, kb, buf, n) })
		return st
	})
	if st == abi.StatusNotFound {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	err = t.plan.decode(out, unsafe.Pointer(&t.scratch))
	r, t.scratch = t.scratch, t.zero
	if err != nil {
		return r, false, fmt.Errorf("get %s: %w", t.ref.name, err)
	}
	return r, true, nil
}

// Count returns the number of rows.
func (t *ReadOnlyTable[T]) Count() (int64, error) {
	var n int64
	_, err := t.ref.do("count", func(h int32) int32 {
		n = hostCount(h)
		if n < 0 {
			return int32(n)
		}
		return 0
	})
	return n, err
}

// Scan calls fn with each row in primary-key order until fn returns false.
// fn may write to tables (including this one): the scan sees the
// transaction's writes as the host's iterator defines.
func (t *ReadOnlyTable[T]) Scan(fn func(T) bool) error {
	for r, err := range t.All() {
		if err != nil {
			return err
		}
		if !fn(r) {
			break
		}
	}
	return nil
}

// All returns an iterator over the rows in primary-key order:
//
//	for p, err := range players.All() { ... }
//
// A failure is yielded once, as the last element.
func (t *ReadOnlyTable[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if t.plan == nil {
			yield(zero, fmt.Errorf("%w: table %s was not declared correctly", ErrBadArgument, t.ref.name))
			return
		}
		it, err := t.ref.do("scan", func(h int32) int32 { return hostScanOpen(h) })
		if err != nil {
			yield(zero, err)
			return
		}
		defer hostScanClose(it)
		for {
			out, st := readInto(func(buf []byte, n *uint32) int32 { return hostScanNext(it, buf, n) })
			if st == abi.StatusDone {
				return
			}
			if st < 0 {
				yield(zero, hostErr("scan", t.ref.name, st))
				return
			}
			err := t.plan.decode(out, unsafe.Pointer(&t.scratch))
			r := t.scratch
			t.scratch = zero
			if err != nil {
				yield(zero, fmt.Errorf("scan %s: %w", t.ref.name, err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// encodeRow encodes r with the shared row writer. The bytes are valid
// until the next encode.
func (t *ReadOnlyTable[T]) encodeRow(r T) ([]byte, error) {
	if t.plan == nil {
		return nil, t.ref.undeclared()
	}
	t.scratch = r
	buf := t.plan.encode(unsafe.Pointer(&t.scratch))
	t.scratch = t.zero
	return buf, nil
}

func (t *ReadOnlyTable[T]) encodeKey(key any) ([]byte, error) {
	if t.plan == nil {
		return nil, t.ref.undeclared()
	}
	pk := &t.plan.cols[t.plan.pk]
	if reflect.TypeOf(key) == pk.typ {
		// The key has the key field's exact Go type: encode it straight
		// from the interface's data word, without boxing or conversion.
		// (For these non-pointer types the data word points to the value.)
		return encodeOne(pk.c, (*[2]unsafe.Pointer)(unsafe.Pointer(&key))[1]), nil
	}
	v, err := toValue(key)
	if err == nil {
		v, err = row.Convert(v, pk.c.typ)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: key for column %s: %w", t.ref.name, pk.name, err)
	}
	buf, err := encode([]any{v})
	if err != nil {
		return nil, fmt.Errorf("%s: key for column %s: %w", t.ref.name, pk.name, err)
	}
	return buf, nil
}
