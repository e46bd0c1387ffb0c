package core

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// GuestABIVersion is the guest ABI version this host implements (docs/ABI.md).
const GuestABIVersion = 1

// Schema size bounds: generous for real modules, small enough that a
// hostile describe buffer cannot make the host allocate much.
const (
	maxTables        = 1024
	maxColumns       = 1024
	maxReducers      = 4096
	maxParams        = 256
	maxSubscriptions = 4096
	maxNameLen       = 128
)

// ModuleInfo describes a loaded module: its schema in Go form.
type ModuleInfo struct {
	Name          string
	Version       string
	Tables        []TableInfo
	Reducers      []ReducerInfo
	Subscriptions []SubscriptionInfo
	WasmSHA256    [32]byte
	// Migration names the reducer that runs in the same transaction as an
	// upgrade to this version ("" for none; docs/MIGRATIONS.md).
	Migration string
}

// TableInfo describes one table.
type TableInfo struct {
	Name       string
	Columns    []ColumnInfo
	PrimaryKey int
	Public     bool
}

// ColumnInfo describes one column (or reducer parameter).
type ColumnInfo struct {
	Name string
	Type row.Type
	// HasDefault reports a declared default_value; Default is its Go value
	// (row package types), which existing rows take when an upgrade adds
	// the column.
	HasDefault bool
	Default    any
}

// ReducerInfo describes one reducer and its parameters.
type ReducerInfo struct {
	Name   string
	Params []ColumnInfo
}

// SubscriptionInfo says that Reducer runs after each committed Event on
// Module.Table.
type SubscriptionInfo struct {
	Module  string
	Table   string
	Event   Op
	Reducer string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

func validIdent(s string) bool { return len(s) <= maxNameLen && identRE.MatchString(s) }

// parseSchema decodes and validates a ModuleSchema buffer. The generated
// FlatBuffers accessors do not verify offsets, so decoding runs under
// recover (a bad offset panics with an index error, which becomes
// CodeMalformed); every vector length is checked against the buffer size
// before anything is allocated, and type nesting is bounded.
func parseSchema(buf []byte) (info *ModuleInfo, err error) {
	if len(buf) < 8 {
		return nil, errf(CodeMalformed, "describe returned %d bytes", len(buf))
	}
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, errf(CodeMalformed, "describe buffer: %v", r)
		}
	}()
	if root := int(uint32(buf[0]) | uint32(buf[1])<<8 | uint32(buf[2])<<16 | uint32(buf[3])<<24); root+4 > len(buf) {
		return nil, errf(CodeMalformed, "root offset %d outside %d bytes", root, len(buf))
	}
	s := fb.GetRootAsModuleSchema(buf, 0)
	vecOK := func(n, limit int, what string) error {
		if n > limit || n*4 > len(buf) {
			return errf(CodeMalformed, "%d %s (limit %d)", n, what, limit)
		}
		return nil
	}
	info = &ModuleInfo{Name: string(s.Name()), Version: string(s.Version())}
	if v := s.AbiVersion(); v != GuestABIVersion {
		return nil, &Error{Code: CodeABIVersion, Module: info.Name, Msg: fmt.Sprintf("abi_version %d, host supports %d", v, GuestABIVersion)}
	}
	if !validIdent(info.Name) {
		return nil, &Error{Code: CodeBadName, Msg: fmt.Sprintf("module name %q is not an identifier", info.Name)}
	}
	if !semverRE.MatchString(info.Version) {
		return nil, &Error{Code: CodeBadName, Module: info.Name, Msg: fmt.Sprintf("version %q is not MAJOR.MINOR.PATCH", info.Version)}
	}
	mod := info.Name
	// work bounds the decoding of default values by the buffer's size, as
	// row verification is (row.WorkFactor): values that share children
	// cannot make it exponential.
	work := row.WorkFactor * len(buf)
	if err := vecOK(s.TablesLength(), maxTables, "tables"); err != nil {
		return nil, err
	}
	tables := map[string]int{}
	var td fb.TableDef
	for i := 0; i < s.TablesLength(); i++ {
		s.Tables(&td, i)
		t := TableInfo{Name: string(td.Name()), PrimaryKey: int(td.PrimaryKey()), Public: td.Public()}
		if !validIdent(t.Name) {
			return nil, &Error{Code: CodeBadName, Module: mod, Msg: fmt.Sprintf("table %d name %q is not an identifier", i, t.Name)}
		}
		if _, dup := tables[t.Name]; dup {
			return nil, &Error{Code: CodeDuplicateName, Module: mod, Table: t.Name, Msg: "table declared twice"}
		}
		tables[t.Name] = i
		if err := vecOK(td.ColumnsLength(), maxColumns, "columns"); err != nil {
			return nil, err
		}
		var cd fb.Column
		for j := 0; j < td.ColumnsLength(); j++ {
			td.Columns(&cd, j)
			c := ColumnInfo{Name: string(cd.Name()), Type: row.TypeFromFB(cd.Type(nil))}
			if !validIdent(c.Name) {
				return nil, &Error{Code: CodeBadName, Module: mod, Table: t.Name, Msg: fmt.Sprintf("column %d name %q is not an identifier", j, c.Name)}
			}
			for _, o := range t.Columns {
				if o.Name == c.Name {
					return nil, &Error{Code: CodeDuplicateName, Module: mod, Table: t.Name, Column: c.Name, Msg: "column declared twice"}
				}
			}
			if err := c.Type.Valid(); err != nil {
				return nil, &Error{Code: CodeUnknownType, Module: mod, Table: t.Name, Column: c.Name, Err: err}
			}
			var dv fb.Value
			if cd.DefaultValue(&dv) != nil {
				v, err := fbValue(&dv, 0, &work)
				if err == nil {
					v, err = row.Convert(v, c.Type)
				}
				if err == nil {
					err = row.CheckValue(v, c.Type)
				}
				if err != nil {
					return nil, &Error{Code: CodeUnknownType, Module: mod, Table: t.Name, Column: c.Name, Msg: "default_value does not match the column type", Err: err}
				}
				c.HasDefault, c.Default = true, v
			}
			t.Columns = append(t.Columns, c)
		}
		if len(t.Columns) == 0 {
			return nil, &Error{Code: CodeBadPrimaryKey, Module: mod, Table: t.Name, Msg: "table has no columns"}
		}
		if t.PrimaryKey >= len(t.Columns) {
			return nil, &Error{Code: CodeBadPrimaryKey, Module: mod, Table: t.Name, Msg: fmt.Sprintf("primary_key %d but %d columns", t.PrimaryKey, len(t.Columns))}
		}
		if pk := t.Columns[t.PrimaryKey]; !row.KeyType(pk.Type) {
			return nil, &Error{Code: CodeBadPrimaryKey, Module: mod, Table: t.Name, Column: pk.Name, Msg: fmt.Sprintf("type %s cannot be a primary key", pk.Type)}
		}
		info.Tables = append(info.Tables, t)
	}
	if err := vecOK(s.ReducersLength(), maxReducers, "reducers"); err != nil {
		return nil, err
	}
	reducers := map[string]int{}
	var rd fb.ReducerDef
	for i := 0; i < s.ReducersLength(); i++ {
		s.Reducers(&rd, i)
		r := ReducerInfo{Name: string(rd.Name())}
		if !validIdent(r.Name) {
			return nil, &Error{Code: CodeBadName, Module: mod, Msg: fmt.Sprintf("reducer %d name %q is not an identifier", i, r.Name)}
		}
		if _, dup := reducers[r.Name]; dup {
			return nil, &Error{Code: CodeDuplicateName, Module: mod, Reducer: r.Name, Msg: "reducer declared twice"}
		}
		reducers[r.Name] = i
		if err := vecOK(rd.ParamsLength(), maxParams, "parameters"); err != nil {
			return nil, err
		}
		var pd fb.Param
		for j := 0; j < rd.ParamsLength(); j++ {
			rd.Params(&pd, j)
			p := ColumnInfo{Name: string(pd.Name()), Type: row.TypeFromFB(pd.Type(nil))}
			if !validIdent(p.Name) {
				return nil, &Error{Code: CodeBadName, Module: mod, Reducer: r.Name, Msg: fmt.Sprintf("parameter %d name %q is not an identifier", j, p.Name)}
			}
			for _, o := range r.Params {
				if o.Name == p.Name {
					return nil, &Error{Code: CodeDuplicateName, Module: mod, Reducer: r.Name, Column: p.Name, Msg: "parameter declared twice"}
				}
			}
			if err := p.Type.Valid(); err != nil {
				return nil, &Error{Code: CodeUnknownType, Module: mod, Reducer: r.Name, Column: p.Name, Err: err}
			}
			r.Params = append(r.Params, p)
		}
		info.Reducers = append(info.Reducers, r)
	}
	if err := vecOK(s.SubscriptionsLength(), maxSubscriptions, "subscriptions"); err != nil {
		return nil, err
	}
	var sd fb.SubscriptionDef
	for i := 0; i < s.SubscriptionsLength(); i++ {
		s.Subscriptions(&sd, i)
		sub := SubscriptionInfo{Module: string(sd.Module()), Table: string(sd.TableName()), Event: Op(sd.Event()), Reducer: string(sd.Reducer())}
		where := &Error{Code: CodeBadSubscription, Module: mod, Reducer: sub.Reducer, Table: sub.Module + "." + sub.Table}
		if !validIdent(sub.Module) || !validIdent(sub.Table) {
			where.Msg = fmt.Sprintf("subscription %d names %q.%q", i, sub.Module, sub.Table)
			return nil, where
		}
		if sub.Event > OpDelete {
			where.Msg = "unknown event " + strconv.Itoa(int(sub.Event))
			return nil, where
		}
		ri, ok := reducers[sub.Reducer]
		if !ok {
			where.Msg = "subscription names an unknown reducer"
			return nil, where
		}
		if !subscriberParams(info.Reducers[ri].Params) {
			where.Msg = "a subscriber's parameters must be exactly (old: bytes?, new: bytes?)"
			return nil, where
		}
		if sub.Module == mod {
			if _, ok := tables[sub.Table]; !ok {
				where.Msg = "subscription names an unknown table of this module"
				return nil, where
			}
		}
		info.Subscriptions = append(info.Subscriptions, sub)
	}
	if mig := string(s.Migration()); mig != "" {
		ri, ok := reducers[mig]
		if !ok {
			return nil, &Error{Code: CodeBadName, Module: mod, Reducer: mig, Msg: "migration names an unknown reducer"}
		}
		if len(info.Reducers[ri].Params) != 0 {
			return nil, &Error{Code: CodeBadName, Module: mod, Reducer: mig, Msg: "a migration reducer takes no parameters"}
		}
		info.Migration = mig
	}
	return info, nil
}

// fbValue converts a schema's default value to its Go form, taking from
// *work one unit per byte of a string or bytes and 8 per list element.
func fbValue(v *fb.Value, depth int, work *int) (any, error) {
	if depth > row.MaxDepth {
		return nil, fmt.Errorf("default value nested deeper than %d", row.MaxDepth)
	}
	*work -= len(v.S()) + len(v.BytesBytes()) + 8*v.ListLength()
	if *work < 0 {
		return nil, fmt.Errorf("default values cost more than %d times the describe buffer to decode (they share children)", row.WorkFactor)
	}
	switch v.Type() {
	case fb.ValueTypeNull:
		return nil, nil
	case fb.ValueTypeBool:
		return v.B(), nil
	case fb.ValueTypeU32:
		if v.U() > 1<<32-1 {
			return nil, fmt.Errorf("u32 default %d out of range", v.U())
		}
		return uint32(v.U()), nil
	case fb.ValueTypeU64:
		return v.U(), nil
	case fb.ValueTypeI32:
		if v.I() < -1<<31 || v.I() > 1<<31-1 {
			return nil, fmt.Errorf("i32 default %d out of range", v.I())
		}
		return int32(v.I()), nil
	case fb.ValueTypeI64:
		return v.I(), nil
	case fb.ValueTypeF32:
		return float32(v.F()), nil
	case fb.ValueTypeF64:
		return v.F(), nil
	case fb.ValueTypeString:
		return string(v.S()), nil
	case fb.ValueTypeBytes:
		return append([]byte{}, v.BytesBytes()...), nil
	case fb.ValueTypeList:
		out := make([]any, v.ListLength())
		var e fb.Value
		for i := range out {
			v.List(&e, i)
			x, err := fbValue(&e, depth+1, work)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown value type %d", v.Type())
}

func subscriberParams(ps []ColumnInfo) bool {
	if len(ps) != 2 {
		return false
	}
	for _, p := range ps {
		if p.Type.Kind != fb.ValueTypeBytes || !p.Type.Optional {
			return false
		}
	}
	return true
}
