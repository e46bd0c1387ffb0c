package core

import (
	"sync/atomic"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// Op is the kind of a row change (the values of fb.Op).
type Op uint8

// Row change kinds.
const (
	OpInsert = Op(fb.OpInsert)
	OpUpdate = Op(fb.OpUpdate)
	OpDelete = Op(fb.OpDelete)
)

// String returns "insert", "update" or "delete".
func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "op(" + string(rune('0'+o)) + ")"
}

// EventMask selects the events a host callback receives.
type EventMask uint8

// Event masks.
const (
	EventInsert EventMask = 1 << OpInsert
	EventUpdate EventMask = 1 << OpUpdate
	EventDelete EventMask = 1 << OpDelete
	EventAll              = EventInsert | EventUpdate | EventDelete
)

// Event is one committed row change delivered to a host callback. Old is
// nil for an insert and New is nil for a delete. The row slices are shared
// with the table and must not be modified.
type Event struct {
	Op        Op
	Module    string
	Table     string
	Old, New  []byte
	LSN       uint64
	Timestamp uint64
}

type hook struct {
	mask EventMask
	fn   func(Event)
	off  atomic.Bool // cancelled: events collected before are dropped
}

// hookList is a copy-on-write list of host callbacks.
type hookList struct{ p atomic.Pointer[[]*hook] }

func (r *Runtime) fireHooks(t *table, mu *mutation, lsn, ts uint64) {
	hs := t.hooks.p.Load()
	if hs == nil {
		return
	}
	bit := EventMask(1) << mu.Op
	for _, h := range *hs {
		if h.mask&bit != 0 {
			r.collectHook(h, Event{Op: Op(mu.Op), Module: mu.Module, Table: mu.Table, Old: mu.OldRow, New: mu.Row, LSN: lsn, Timestamp: ts})
		}
	}
}

// Subscribe registers fn for the committed events in mask on
// module.table and returns a function that removes it. fn runs
// synchronously in the goroutine of the Call that committed the event
// (for CallAsync, on the completion goroutine before the call's done),
// once the call's records are durable and before Call returns, in commit
// order. Callbacks of one runtime never run at once: those of concurrent
// calls run one call after another, in commit order. A call whose record
// could not be made durable (CodePoisoned) fires none: fn sees only
// events that survive a crash. fn must not call Call, CallJSON or
// LoadModule (that deadlocks) but may read (Get, Scan, Count), which
// shows the committed state when fn runs (possibly with later calls).
func (r *Runtime) Subscribe(module, tableName string, mask EventMask, fn func(Event)) (cancel func(), err error) {
	if fn == nil || mask&EventAll == 0 {
		return nil, &Error{Code: CodeBadArgument, Module: module, Table: tableName, Msg: "subscribe needs a callback and at least one event"}
	}
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return nil, err
	}
	h := &hook{mask: mask, fn: fn}
	r.hookMu.Lock()
	var next []*hook
	if old := t.hooks.p.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, h)
	t.hooks.p.Store(&next)
	r.hookMu.Unlock()
	return func() {
		h.off.Store(true)
		r.hookMu.Lock()
		defer r.hookMu.Unlock()
		old := t.hooks.p.Load()
		if old == nil {
			return
		}
		var next []*hook
		for _, x := range *old {
			if x != h {
				next = append(next, x)
			}
		}
		t.hooks.p.Store(&next)
	}, nil
}

func (r *Runtime) lookupTable(module, tableName string) (*table, error) {
	if r.closed.Load() {
		return nil, errClosed
	}
	if e := r.poisoned.Load(); e != nil {
		return nil, e
	}
	r.stateMu.RLock()
	defer r.stateMu.RUnlock()
	m := r.modules[module]
	if m == nil {
		return nil, &Error{Code: CodeNotFound, Module: module, Msg: "no such module"}
	}
	t := m.tableByName[tableName]
	if t == nil {
		return nil, &Error{Code: CodeNotFound, Module: module, Table: tableName, Msg: "no such table"}
	}
	return t, nil
}

// hostKey converts a Go key value (any integer type is accepted for an
// integer key) to its index key.
func hostKey(t *table, key any) (string, error) {
	v, err := row.Convert(key, t.pkType)
	if err == nil {
		var k string
		if k, err = row.Key(v); err == nil {
			return k, nil
		}
	}
	return "", &Error{Code: CodeType, Module: t.mod.info.Name, Table: t.name, Column: t.pkField, Msg: "key", Err: err}
}

// Get returns the committed row of module.table whose primary key is key
// (a Go value of the key's type; any Go integer for integer keys). The
// row is an encoded Row shared with the table: do not modify it.
func (r *Runtime) Get(module, tableName string, key any) (rowBytes []byte, found bool, err error) {
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return nil, false, err
	}
	k, err := hostKey(t, key)
	if err != nil {
		return nil, false, err
	}
	r.stateMu.RLock()
	e, ok := t.Tree.Get(entry{Key: k})
	r.stateMu.RUnlock()
	return e.Row, ok, nil
}

// GetJSON is Get with the key as a JSON value and the row returned as a
// JSON object keyed by column name.
func (r *Runtime) GetJSON(module, tableName string, jsonKey []byte) ([]byte, bool, error) {
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return nil, false, err
	}
	key, err := row.ParseJSONValue(jsonKey, t.pkType)
	if err != nil {
		return nil, false, &Error{Code: CodeType, Module: module, Table: tableName, Column: t.pkField, Msg: "key", Err: err}
	}
	buf, found, err := r.Get(module, tableName, key)
	if err != nil || !found {
		return nil, found, err
	}
	js, err := r.RowJSON(module, tableName, buf)
	return js, true, err
}

// RowJSON returns an encoded row of module.table as a JSON object keyed by
// column name.
func (r *Runtime) RowJSON(module, tableName string, rowBytes []byte) ([]byte, error) {
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return nil, err
	}
	vals, err := row.Decode(rowBytes)
	if err != nil {
		return nil, &Error{Code: CodeBadArgument, Module: module, Table: tableName, Msg: "row", Err: err}
	}
	return row.AppendJSONObject(nil, t.names, vals), nil
}

// Count returns the number of committed rows of module.table.
func (r *Runtime) Count(module, tableName string) (int, error) {
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return 0, err
	}
	r.stateMu.RLock()
	n := t.Tree.Len()
	r.stateMu.RUnlock()
	return n, nil
}

// scanChunk is how many rows a Scanner copies per lock hold.
const scanChunk = 256

// Scanner iterates over committed rows of a table in primary-key order.
// It reads in chunks of 256 rows, each under a short read lock, so it works
// on tables of any size without blocking commits for long; a row committed
// or deleted during the scan may or may not be seen, but each key is seen at
// most once and in order.
//
//	sc, err := rt.Scan("chat", "messages", nil)
//	for sc.Next() { use(sc.Row()) }
//	if err := sc.Err(); err != nil { ... }
type Scanner struct {
	r       *Runtime
	t       *table
	last    string
	started bool
	buf     []entry
	i       int
	done    bool
	err     error
}

// Scan returns a Scanner over module.table starting after the key after
// (nil starts at the first row).
func (r *Runtime) Scan(module, tableName string, after any) (*Scanner, error) {
	t, err := r.lookupTable(module, tableName)
	if err != nil {
		return nil, err
	}
	s := &Scanner{r: r, t: t}
	if after != nil {
		if s.last, err = hostKey(t, after); err != nil {
			return nil, err
		}
		s.started = true
	}
	return s, nil
}

// Next advances to the next row and reports whether there is one.
func (s *Scanner) Next() bool {
	s.i++
	if s.i < len(s.buf) {
		return true
	}
	if s.done || s.err != nil {
		return false
	}
	if s.r.closed.Load() {
		s.err = errClosed
		return false
	}
	s.buf, s.i = s.buf[:0], 0
	s.r.stateMu.RLock()
	s.t.Tree.AscendGreaterOrEqual(entry{Key: s.last}, func(e entry) bool {
		if s.started && e.Key == s.last {
			return true
		}
		s.buf = append(s.buf, e)
		return len(s.buf) < scanChunk
	})
	s.r.stateMu.RUnlock()
	if len(s.buf) < scanChunk {
		s.done = true
	}
	if len(s.buf) == 0 {
		return false
	}
	s.last, s.started = s.buf[len(s.buf)-1].Key, true
	return true
}

// Row returns the current row (an encoded Row shared with the table: do
// not modify it).
func (s *Scanner) Row() []byte {
	if s.i < len(s.buf) {
		return s.buf[s.i].Row
	}
	return nil
}

// Err returns the error that ended the scan, if any.
func (s *Scanner) Err() error { return s.err }
