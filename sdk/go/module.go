package sdk

import (
	"errors"
	"fmt"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// ABIVersion is the guest ABI version this SDK implements (docs/ABI.md).
const ABIVersion = 1

// registry is everything the module declared. Registration happens in
// package initialisation (init functions and package-level variables), which
// Go runs in a fixed order, so the schema and the reducer numbering are the
// same in every build of the same source.
var reg struct {
	name, version string
	tables        []*tableDef
	reducers      []*reducerDef
	byName        map[string]*reducerDef
	subs          []subDef
	migration     string // reducer run in the transaction of an upgrade
	errs          []error
	schema        []byte // built once, by Schema
}

type tableDef struct {
	name   string
	public bool
	plan   *rowPlan
}

type param struct {
	name string
	typ  row.Type
}

type reducerDef struct {
	name   string
	params []param
	invoke func(ctx *Ctx, args []byte) error
}

type subDef struct {
	module, table string
	event         fb.Event
	reducer       string
}

func regErr(format string, args ...any) {
	reg.errs = append(reg.errs, fmt.Errorf("sdk: "+format, args...))
}

// Module sets the module's name and semantic version. Call it once, from an
// init function or a package-level variable:
//
//	func init() { sdk.Module("counter", "1.0.0") }
func Module(name, version string) {
	if reg.name != "" {
		regErr("Module called twice (%q, then %q)", reg.name, name)
		return
	}
	if !isIdent(name) {
		regErr("module name %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", name)
	}
	if !isSemver(version) {
		regErr("module %s: version %q is not MAJOR.MINOR.PATCH", name, version)
	}
	reg.name, reg.version = name, version
}

func isSemver(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return false
		}
	}
	return true
}

func addReducer(r *reducerDef) {
	if !isIdent(r.name) {
		regErr("reducer name %q is not an identifier", r.name)
		return
	}
	if reg.byName == nil {
		reg.byName = map[string]*reducerDef{}
	}
	if reg.byName[r.name] != nil {
		regErr("duplicate reducer %q", r.name)
		return
	}
	reg.byName[r.name] = r
	reg.reducers = append(reg.reducers, r)
}

// Schema returns the module's ModuleSchema (fbs/schema.fbs) as the describe
// export hands it to the host, or every registration error. It is useful in
// a native test of a module:
//
//	func TestSchema(t *testing.T) {
//		if _, err := sdk.Schema(); err != nil { t.Fatal(err) }
//	}
func Schema() ([]byte, error) {
	errs := append([]error{}, reg.errs...)
	if reg.name == "" {
		errs = append(errs, errors.New(`sdk: no module name: call sdk.Module("name", "1.0.0") in an init function`))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if reg.schema == nil {
		reg.schema = buildSchema()
	}
	return reg.schema, nil
}

func buildSchema() []byte {
	b := flatbuffers.NewBuilder(1024)
	str := b.CreateString

	tables := make([]flatbuffers.UOffsetT, len(reg.tables))
	for i, t := range reg.tables {
		cols := make([]flatbuffers.UOffsetT, len(t.plan.cols))
		for j, c := range t.plan.cols {
			name := str(c.name)
			typ := row.BuildTypeRef(b, c.c.typ)
			var def flatbuffers.UOffsetT
			if c.def != nil {
				def = buildDefault(b, &c)
			}
			fb.ColumnStart(b)
			fb.ColumnAddName(b, name)
			fb.ColumnAddType(b, typ)
			if c.def != nil {
				fb.ColumnAddDefaultValue(b, def)
			}
			cols[j] = fb.ColumnEnd(b)
		}
		colVec := vector(b, cols)
		name := str(t.name)
		fb.TableDefStart(b)
		fb.TableDefAddName(b, name)
		fb.TableDefAddColumns(b, colVec)
		fb.TableDefAddPrimaryKey(b, uint16(t.plan.pk))
		fb.TableDefAddPublic(b, t.public)
		tables[i] = fb.TableDefEnd(b)
	}
	tableVec := vector(b, tables)

	reducers := make([]flatbuffers.UOffsetT, len(reg.reducers))
	for i, r := range reg.reducers {
		params := make([]flatbuffers.UOffsetT, len(r.params))
		for j, p := range r.params {
			name := str(p.name)
			typ := row.BuildTypeRef(b, p.typ)
			fb.ParamStart(b)
			fb.ParamAddName(b, name)
			fb.ParamAddType(b, typ)
			params[j] = fb.ParamEnd(b)
		}
		paramVec := vector(b, params)
		name := str(r.name)
		fb.ReducerDefStart(b)
		fb.ReducerDefAddName(b, name)
		fb.ReducerDefAddParams(b, paramVec)
		reducers[i] = fb.ReducerDefEnd(b)
	}
	reducerVec := vector(b, reducers)

	subs := make([]flatbuffers.UOffsetT, len(reg.subs))
	for i, s := range reg.subs {
		mod, tab, red := str(s.module), str(s.table), str(s.reducer)
		fb.SubscriptionDefStart(b)
		fb.SubscriptionDefAddModule(b, mod)
		fb.SubscriptionDefAddTableName(b, tab)
		fb.SubscriptionDefAddEvent(b, s.event)
		fb.SubscriptionDefAddReducer(b, red)
		subs[i] = fb.SubscriptionDefEnd(b)
	}
	subVec := vector(b, subs)

	name, version := str(reg.name), str(reg.version)
	var migration flatbuffers.UOffsetT
	if reg.migration != "" {
		migration = str(reg.migration)
	}
	fb.ModuleSchemaStart(b)
	fb.ModuleSchemaAddAbiVersion(b, ABIVersion)
	fb.ModuleSchemaAddName(b, name)
	fb.ModuleSchemaAddVersion(b, version)
	fb.ModuleSchemaAddTables(b, tableVec)
	fb.ModuleSchemaAddReducers(b, reducerVec)
	fb.ModuleSchemaAddSubscriptions(b, subVec)
	if migration != 0 {
		fb.ModuleSchemaAddMigration(b, migration)
	}
	b.Finish(fb.ModuleSchemaEnd(b))
	return b.FinishedBytes()
}

// buildDefault writes a column's default value (a one-value Row, checked
// by planFor) as a Value table of the schema. The schema is built once per
// module, so this uses the Builder, in the order row.Build uses.
func buildDefault(b *flatbuffers.Builder, c *column) flatbuffers.UOffsetT {
	vals, err := row.Decode(c.def)
	if err != nil || len(vals) != 1 {
		panic(fmt.Sprintf("sdk: default of column %s: %v", c.name, err)) // encoded by row.Encode
	}
	o, err := row.BuildValue(b, vals[0])
	if err != nil {
		panic(fmt.Sprintf("sdk: default of column %s: %v", c.name, err))
	}
	return o
}

// Migration declares the module's migration reducer: fn runs in the same
// transaction as an upgrade of a running module to this version, after the
// host has added the new columns (with their defaults), and can rewrite
// rows. If it fails, the upgrade is rolled back and the old version stays.
// It is also an ordinary reducer named name, without parameters.
//
//	sdk.Migration("fill_levels", func(ctx *sdk.Ctx) error { ... })
func Migration(name string, fn func(*Ctx) error) {
	if reg.migration != "" {
		regErr("two migrations (%s and %s)", reg.migration, name)
		return
	}
	Reducer(name, fn)
	reg.migration = name
}

func vector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

// describe is the body of the interstice_describe export. A module with
// registration errors cannot describe itself: it panics with every error,
// which the Go runtime prints to stderr before the instance exits.
func describe() []byte {
	s, err := Schema()
	if err != nil {
		panic(err.Error())
	}
	return s
}
