package sdk

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

var (
	ctxType   = reflect.TypeFor[*Ctx]()
	errorType = reflect.TypeFor[error]()
)

// Reducer declares a reducer. fn is a function whose first parameter is
// *sdk.Ctx and whose other parameters are the reducer's arguments, of any
// type that has an Interstice type (see Table); it returns an error or
// nothing. Go does not keep parameter names at run time, so give them in
// order (they name the arguments in JSON calls and in the schema); missing
// names default to arg0, arg1, ...
//
//	sdk.Reducer("add", func(ctx *sdk.Ctx, name string, by int64) error {
//		...
//	}, "name", "by")
//
// A returned error fails the call: the transaction is rolled back and the
// caller gets err.Error(). A panic fails it the same way, with the panic
// value as the message. Declare reducers in an init function; their order
// is their number in the schema.
func Reducer(name string, fn any, paramNames ...string) {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func || ft.NumIn() == 0 || ft.In(0) != ctxType || ft.IsVariadic() {
		regErr("reducer %s: want func(*sdk.Ctx, args...) error, got %s", name, ft)
		return
	}
	if ft.NumOut() > 1 || ft.NumOut() == 1 && ft.Out(0) != errorType {
		regErr("reducer %s: must return error or nothing, got %s", name, ft)
		return
	}
	n := ft.NumIn() - 1
	if len(paramNames) > n {
		regErr("reducer %s: %d parameter names for %d parameters", name, len(paramNames), n)
		return
	}
	params := make([]param, n)
	codecs := make([]*codec, n)
	seen := map[string]bool{}
	for i := range params {
		c, err := codecFor(ft.In(i + 1))
		if err != nil {
			regErr("reducer %s: parameter %d: %v", name, i, err)
			return
		}
		pn := fmt.Sprintf("arg%d", i)
		if i < len(paramNames) {
			pn = paramNames[i]
		}
		if !isIdent(pn) || seen[pn] {
			regErr("reducer %s: parameter name %q is not a unique identifier", name, pn)
			return
		}
		seen[pn] = true
		params[i], codecs[i] = param{name: pn, typ: c.typ}, c
	}
	addReducer(&reducerDef{name: name, params: params, invoke: invoker(name, fn, fv, codecs)})
}

// invoker returns the function that decodes the arguments and calls fn.
// Arguments are decoded into storage allocated once per reducer (a module
// instance runs one reducer at a time and never re-enters one), then the
// most common signatures are called directly and the rest through reflect.
func invoker(name string, fn any, fv reflect.Value, codecs []*codec) func(*Ctx, []byte) error {
	ft := fv.Type()
	store := make([]unsafe.Pointer, len(codecs))
	vals := make([]reflect.Value, len(codecs))
	for i := range codecs {
		v := reflect.New(ft.In(i + 1))
		store[i], vals[i] = v.UnsafePointer(), v.Elem()
	}
	switch f := fn.(type) {
	case func(*Ctx) error:
		return func(ctx *Ctx, _ []byte) error { return f(ctx) }
	case func(*Ctx):
		return func(ctx *Ctx, _ []byte) error { f(ctx); return nil }
	case func(*Ctx, string) error:
		return func(ctx *Ctx, args []byte) error {
			if err := decodeArgs(name, args, codecs, store); err != nil {
				return err
			}
			return f(ctx, *(*string)(store[0]))
		}
	case func(*Ctx, uint64) error:
		return func(ctx *Ctx, args []byte) error {
			if err := decodeArgs(name, args, codecs, store); err != nil {
				return err
			}
			return f(ctx, *(*uint64)(store[0]))
		}
	case func(*Ctx, int64) error:
		return func(ctx *Ctx, args []byte) error {
			if err := decodeArgs(name, args, codecs, store); err != nil {
				return err
			}
			return f(ctx, *(*int64)(store[0]))
		}
	case func(*Ctx, string, int64) error:
		return func(ctx *Ctx, args []byte) error {
			if err := decodeArgs(name, args, codecs, store); err != nil {
				return err
			}
			return f(ctx, *(*string)(store[0]), *(*int64)(store[1]))
		}
	case func(*Ctx, uint64, string, int64) error:
		return func(ctx *Ctx, args []byte) error {
			if err := decodeArgs(name, args, codecs, store); err != nil {
				return err
			}
			return f(ctx, *(*uint64)(store[0]), *(*string)(store[1]), *(*int64)(store[2]))
		}
	}
	hasErr := ft.NumOut() == 1
	// in is reused: the values in it are the store above, and a reducer is
	// never re-entered.
	in := make([]reflect.Value, 1+len(codecs))
	copy(in[1:], vals)
	return func(ctx *Ctx, args []byte) error {
		if err := decodeArgs(name, args, codecs, store); err != nil {
			return err
		}
		in[0] = reflect.ValueOf(ctx)
		out := fv.Call(in)
		if hasErr && !out[0].IsNil() {
			return out[0].Interface().(error)
		}
		return nil
	}
}

// Subscriptions ---------------------------------------------------------------

// subParams are the parameters the ABI requires of a subscription reducer.
var subParams = []param{
	{name: "old", typ: row.Type{Kind: fb.ValueTypeBytes, Optional: true}},
	{name: "new", typ: row.Type{Kind: fb.ValueTypeBytes, Optional: true}},
}

// OnInsert runs fn after each committed transaction that inserted a row into
// module.table (module may be this module's own name). T lists the table's
// columns, as for ExternalTable. fn runs as its own transaction, after the
// triggering one; its error rolls back only its own writes.
//
// It declares a reducer named on_insert_<module>_<table> (with a numeric
// suffix if that name is taken) with parameters (old: bytes?, new: bytes?).
func OnInsert[T any](module, table string, fn func(ctx *Ctx, row T) error) {
	subscribe[T](module, table, fb.EventInsert, func(ctx *Ctx, _, n *T) error { return fn(ctx, *n) })
}

// OnUpdate runs fn with the row before and after each committed update of
// module.table. See OnInsert.
func OnUpdate[T any](module, table string, fn func(ctx *Ctx, old, new T) error) {
	subscribe[T](module, table, fb.EventUpdate, func(ctx *Ctx, o, n *T) error { return fn(ctx, *o, *n) })
}

// OnDelete runs fn with the deleted row after each committed delete from
// module.table. See OnInsert.
func OnDelete[T any](module, table string, fn func(ctx *Ctx, old T) error) {
	subscribe[T](module, table, fb.EventDelete, func(ctx *Ctx, o, _ *T) error { return fn(ctx, *o) })
}

var eventNames = map[fb.Event]string{fb.EventInsert: "insert", fb.EventUpdate: "update", fb.EventDelete: "delete"}

func subscribe[T any](module, table string, ev fb.Event, fn func(ctx *Ctx, old, new *T) error) {
	plan, err := planFor(reflect.TypeFor[T]())
	if err != nil {
		regErr("subscription to %s.%s: %v", module, table, err)
		return
	}
	if !isIdent(module) || !isIdent(table) {
		regErr("subscription to %s.%s: module and table must be identifiers", module, table)
		return
	}
	base := "on_" + eventNames[ev] + "_" + module + "_" + table
	name := base
	for i := 2; reg.byName[name] != nil; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	wantOld, wantNew := ev != fb.EventInsert, ev != fb.EventDelete
	bytesCodec, _ := codecFor(reflect.TypeFor[*[]byte]())
	codecs := []*codec{bytesCodec, bytesCodec}
	var raw [2]*[]byte
	store := []unsafe.Pointer{unsafe.Pointer(&raw[0]), unsafe.Pointer(&raw[1])}
	invoke := func(ctx *Ctx, args []byte) error {
		if err := decodeArgs(name, args, codecs, store); err != nil {
			return err
		}
		var rows [2]*T
		for i, want := range []bool{wantOld, wantNew} {
			if !want {
				continue
			}
			if raw[i] == nil {
				return fmt.Errorf("%w: subscription %s: %s row missing", ErrType, name, subParams[i].name)
			}
			rows[i] = new(T)
			if err := plan.decode(*raw[i], unsafe.Pointer(rows[i])); err != nil {
				return fmt.Errorf("subscription %s: %s row: %w", name, subParams[i].name, err)
			}
		}
		return fn(ctx, rows[0], rows[1])
	}
	addReducer(&reducerDef{name: name, params: subParams, invoke: invoke})
	reg.subs = append(reg.subs, subDef{module: module, table: table, event: ev, reducer: name})
}

// dispatch is the body of the interstice_call export.
func dispatch(idx int32, args []byte) (status int32) {
	if idx < 0 || int(idx) >= len(reg.reducers) {
		hostFail(fmt.Sprintf("no reducer number %d (module has %d)", idx, len(reg.reducers)))
		return 1
	}
	r := reg.reducers[idx]
	ctx := &theCtx
	ctx.reset(r.name)
	decodingArgs = false
	defer func() {
		if p := recover(); p != nil {
			if decodingArgs {
				// A malformed argument buffer: the error decodeArgs
				// would return (see decodingArgs).
				decodingArgs = false
				hostFail(argsPanicErr(r.name, p).Error())
				status = 1
				return
			}
			hostFail(fmt.Sprintf("panic: %v", p))
			status = 2
		}
	}()
	if err := r.invoke(ctx, args); err != nil {
		hostFail(err.Error())
		return 1
	}
	return 0
}
