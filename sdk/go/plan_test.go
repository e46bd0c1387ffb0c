package sdk

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/abi"
	"github.com/interstice/interstice/row"
)

type PlayerID uint64

type allKinds struct {
	ID      PlayerID `ist:"id,pk"`
	B       bool
	I8      int8
	I16     int16
	I32     int32
	I64     int64
	I       int
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	S       string
	Bytes   []byte
	OptS    *string
	OptI    *int64
	List    []int32
	Nested  [][]string
	OptList *[]bool
	ListOpt []*string
	skipped int
	Ignored string `ist:"-"`
}

func TestCodecTypes(t *testing.T) {
	p, err := planFor(reflect.TypeFor[allKinds]())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.cols {
		got = append(got, c.name+":"+c.c.typ.String())
	}
	want := "id:u64 b:bool i8:i32 i16:i32 i32:i32 i64:i64 i:i64 u8:u32 u16:u32 u32:u32 u64:u64 f32:f32 f64:f64 " +
		"s:string bytes:bytes opt_s:string? opt_i:i64? list:list<i32> nested:list<list<string>> " +
		"opt_list:list<bool>? list_opt:list<string?>"
	if strings.Join(got, " ") != want {
		t.Fatalf("columns\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if p.pk != 0 {
		t.Fatalf("pk %d", p.pk)
	}
}

func TestCodecRejectsTypes(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
	}{
		{"map", reflect.TypeFor[map[string]int]()},
		{"struct", reflect.TypeFor[struct{ A int }]()},
		{"pointer to pointer", reflect.TypeFor[**int]()},
		{"complex", reflect.TypeFor[complex128]()},
		{"chan", reflect.TypeFor[chan int]()},
		{"optional list of structs", reflect.TypeFor[*[]struct{}]()},
		{"uintptr", reflect.TypeFor[uintptr]()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := codecFor(tc.typ); err == nil {
				t.Fatalf("%s accepted", tc.typ)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sample(r *rand.Rand) allKinds {
	s := func() string { return strings.Repeat("é", r.IntN(4)) + "x" }
	a := allKinds{
		ID: PlayerID(r.Uint64()), B: r.IntN(2) == 0, I8: int8(r.Int()), I16: int16(r.Int()), I32: int32(r.Int()),
		I64: int64(r.Uint64()), I: int(r.Uint64()), U8: uint8(r.Int()), U16: uint16(r.Int()), U32: r.Uint32(),
		U64: r.Uint64(), F32: r.Float32(), F64: r.NormFloat64(), S: s(),
	}
	if r.IntN(3) > 0 {
		a.Bytes = []byte(s())
	}
	if r.IntN(2) == 0 {
		a.OptS = ptr(s())
	}
	if r.IntN(2) == 0 {
		a.OptI = ptr(int64(r.Uint64()))
	}
	for i := r.IntN(4); i > 0; i-- {
		a.List = append(a.List, int32(r.Int()))
		a.Nested = append(a.Nested, []string{s(), s()}[:r.IntN(3)])
		if r.IntN(2) == 0 {
			a.ListOpt = append(a.ListOpt, nil)
		} else {
			a.ListOpt = append(a.ListOpt, ptr(s()))
		}
	}
	if r.IntN(2) == 0 {
		a.OptList = ptr([]bool{true, false}[:r.IntN(3)])
	}
	return a
}

// values returns the row values of a as row.Encode takes them, written
// out by hand (an independent mapping to check the codecs against).
func values(a allKinds) []any {
	opt := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	bs := a.Bytes
	if bs == nil {
		bs = []byte{}
	}
	list, nested, listOpt := []any{}, []any{}, []any{}
	for _, x := range a.List {
		list = append(list, x)
	}
	for _, xs := range a.Nested {
		l := []any{}
		for _, x := range xs {
			l = append(l, x)
		}
		nested = append(nested, l)
	}
	for _, x := range a.ListOpt {
		listOpt = append(listOpt, opt(x))
	}
	var optI, optList any
	if a.OptI != nil {
		optI = *a.OptI
	}
	if a.OptList != nil {
		l := []any{}
		for _, x := range *a.OptList {
			l = append(l, x)
		}
		optList = l
	}
	return []any{uint64(a.ID), a.B, int32(a.I8), int32(a.I16), a.I32, a.I64, int64(a.I), uint32(a.U8), uint32(a.U16),
		a.U32, a.U64, a.F32, a.F64, a.S, bs, opt(a.OptS), optI, list, nested, optList, listOpt}
}

// TestEncodeMatchesRowBuild checks that the row writer gives exactly the
// bytes of row.Encode, the one reference encoder, for random rows of every
// column type (encode_test.go has the cases, random shapes and the fuzz
// test).
func TestEncodeMatchesRowBuild(t *testing.T) {
	p, err := planFor(reflect.TypeFor[allKinds]())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		a := sample(r)
		want, err := row.Encode(values(a))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.encode(unsafe.Pointer(&a)); !bytes.Equal(got, want) {
			t.Fatalf("row %d: encode differs from row.Encode\n%+v", i, a)
		}
		if len(wr.offs) != 0 {
			t.Fatalf("offset stack not popped: %d", len(wr.offs))
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	p, err := planFor(reflect.TypeFor[allKinds]())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		a := sample(r)
		a.skipped, a.Ignored = 0, ""
		buf := row.MustEncode(values(a)...)
		var got allKinds
		if err := p.decode(buf, unsafe.Pointer(&got)); err != nil {
			t.Fatal(err)
		}
		if a.Bytes == nil {
			a.Bytes = []byte{}
		}
		if !reflect.DeepEqual(values(got), values(a)) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got, a)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	type small struct {
		ID  uint64 `ist:"id,pk"`
		I8  int8
		Opt *string
	}
	p, err := planFor(reflect.TypeFor[small]())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"wrong tag", row.MustEncode("x", int32(1), nil), ErrType},
		{"out of range for int8", row.MustEncode(uint64(1), int32(300), nil), ErrType},
		{"null for non-optional", row.MustEncode(uint64(1), nil, nil), ErrType},
		{"too few values", row.MustEncode(uint64(1)), ErrType},
		{"empty", nil, row.ErrMalformed},
		{"garbage", []byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5}, row.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s small
			err := p.decode(tc.buf, unsafe.Pointer(&s))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	var s small
	if err := p.decode(row.MustEncode(uint64(1), int32(-128), "x", "extra column"), unsafe.Pointer(&s)); err != nil || s.I8 != -128 || *s.Opt != "x" {
		t.Fatalf("extra trailing column: %v %+v", err, s)
	}
}

func TestPlanTags(t *testing.T) {
	type noPK struct{ A int64 }
	type twoPK struct {
		A int64 `ist:",pk"`
		B int64 `ist:",pk"`
	}
	type floatPK struct {
		A float64 `ist:",pk"`
	}
	type optPK struct {
		A *int64 `ist:",pk"`
	}
	type dup struct {
		A int64 `ist:"x,pk"`
		B int64 `ist:"x"`
	}
	type badName struct {
		A int64 `ist:"a-b,pk"`
	}
	type badOpt struct {
		A int64 `ist:"a,pk,unique"`
	}
	type empty struct{ a int }
	type Embedded struct{ X int64 }
	type embeds struct {
		Embedded
		ID int64 `ist:",pk"`
	}
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"no primary key", reflect.TypeFor[noPK](), "no primary key"},
		{"two primary keys", reflect.TypeFor[twoPK](), "two primary keys"},
		{"float key", reflect.TypeFor[floatPK](), "cannot be a primary key"},
		{"optional key", reflect.TypeFor[optPK](), "cannot be a primary key"},
		{"duplicate column", reflect.TypeFor[dup](), "duplicate column"},
		{"bad column name", reflect.TypeFor[badName](), "not an identifier"},
		{"unknown option", reflect.TypeFor[badOpt](), "unknown ist tag option"},
		{"no columns", reflect.TypeFor[empty](), "no exported fields"},
		{"embedded", reflect.TypeFor[embeds](), "embedded"},
		{"not a struct", reflect.TypeFor[int](), "not a struct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planFor(tc.typ)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Name": "name", "PlayerID": "player_id", "JoinedAt": "joined_at", "HTTPServer": "http_server",
		"ID": "id", "X2Y": "x2_y", "already_snake": "already_snake", "A": "a",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyEncoding(t *testing.T) {
	type kv struct {
		ID PlayerID `ist:"id,pk"`
		V  string
	}
	tab := &ReadOnlyTable[kv]{ref: tableRef{name: "kv"}}
	var err error
	if tab.plan, err = planFor(reflect.TypeFor[kv]()); err != nil {
		t.Fatal(err)
	}
	want := row.MustEncode(uint64(5))
	for _, key := range []any{PlayerID(5), uint64(5), 5, int32(5), uint8(5)} {
		got, err := tab.encodeKey(key)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("key %T(%v): %v, bytes equal %v", key, key, err, bytes.Equal(got, want))
		}
	}
	for _, key := range []any{-1, "5", 1.5} {
		if _, err := tab.encodeKey(key); err == nil {
			t.Errorf("key %T(%v) accepted", key, key)
		}
	}
}

func TestToValue(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{5, int64(5)},
		{uint(5), uint64(5)},
		{PlayerID(7), uint64(7)},
		{ptr("x"), "x"},
		{(*string)(nil), nil},
		{[]string{"a"}, []any{"a"}},
		{[]byte("b"), []byte("b")},
		{float32(math.Pi), float32(math.Pi)},
	}
	for _, tc := range tests {
		got, err := toValue(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("toValue(%#v) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	if _, err := toValue(map[int]int{}); err == nil {
		t.Error("map accepted")
	}
}

// withRegistry runs f with an empty module registry.
func withRegistry(t *testing.T, f func()) {
	t.Helper()
	saved := reg
	reflect.ValueOf(&reg).Elem().SetZero()
	defer func() { reg = saved }()
	f()
}

func TestSchemaOfModule(t *testing.T) {
	type player struct {
		Name string `ist:"name,pk"`
		Room *string
	}
	withRegistry(t, func() {
		Module("lobby", "1.2.3")
		Table[player]("players", Public)
		Table[player]("secret", Private)
		Reducer("join", func(*Ctx, string, []string, *uint32) error { return nil }, "player", "rooms")
		OnUpdate("other", "players", func(_ *Ctx, _, _ player) error { return nil })
		OnUpdate("other", "players", func(_ *Ctx, _, _ player) error { return nil })
		buf, err := Schema()
		if err != nil {
			t.Fatal(err)
		}
		s := fb.GetRootAsModuleSchema(buf, 0)
		if s.AbiVersion() != 1 || string(s.Name()) != "lobby" || string(s.Version()) != "1.2.3" || s.TablesLength() != 2 {
			t.Fatalf("header %d %s %s %d", s.AbiVersion(), s.Name(), s.Version(), s.TablesLength())
		}
		var td fb.TableDef
		s.Tables(&td, 1)
		if string(td.Name()) != "secret" || td.Public() {
			t.Fatalf("table 1 %s public %v", td.Name(), td.Public())
		}
		var rd fb.ReducerDef
		var p fb.Param
		var got []string
		for i := 0; i < s.ReducersLength(); i++ {
			s.Reducers(&rd, i)
			var ps []string
			for j := 0; j < rd.ParamsLength(); j++ {
				rd.Params(&p, j)
				ps = append(ps, string(p.Name())+":"+row.TypeFromFB(p.Type(nil)).String())
			}
			got = append(got, string(rd.Name())+"("+strings.Join(ps, ",")+")")
		}
		want := "join(player:string,rooms:list<string>,arg2:u32?) on_update_other_players(old:bytes?,new:bytes?) on_update_other_players_2(old:bytes?,new:bytes?)"
		if strings.Join(got, " ") != want {
			t.Fatalf("reducers %s", strings.Join(got, " "))
		}
		var sd fb.SubscriptionDef
		s.Subscriptions(&sd, 1)
		if s.SubscriptionsLength() != 2 || string(sd.Module()) != "other" || string(sd.TableName()) != "players" ||
			sd.Event() != fb.EventUpdate || string(sd.Reducer()) != "on_update_other_players_2" {
			t.Fatalf("subscription %s.%s %v -> %s", sd.Module(), sd.TableName(), sd.Event(), sd.Reducer())
		}
	})
}

func TestSchemaErrors(t *testing.T) {
	type ok struct {
		ID uint64 `ist:"id,pk"`
	}
	tests := []struct {
		name string
		reg  func()
		want string
	}{
		{"no module", func() {}, "no module name"},
		{"bad module name", func() { Module("my-mod", "1.0.0") }, "not an identifier"},
		{"bad version", func() { Module("m", "1.0") }, "not MAJOR.MINOR.PATCH"},
		{"leading zero version", func() { Module("m", "1.01.0") }, "not MAJOR.MINOR.PATCH"},
		{"module twice", func() { Module("m", "1.0.0"); Module("n", "1.0.0") }, "Module called twice"},
		{"duplicate table", func() { Module("m", "1.0.0"); Table[ok]("t", Public); Table[ok]("t", Private) }, "duplicate table"},
		{"bad table name", func() { Module("m", "1.0.0"); Table[ok]("t.x", Public) }, "not an identifier"},
		{"duplicate reducer", func() {
			Module("m", "1.0.0")
			Reducer("r", func(*Ctx) {})
			Reducer("r", func(*Ctx) {})
		}, "duplicate reducer"},
		{"no ctx", func() { Module("m", "1.0.0"); Reducer("r", func(int64) error { return nil }) }, "want func(*sdk.Ctx"},
		{"bad result", func() { Module("m", "1.0.0"); Reducer("r", func(*Ctx) int { return 0 }) }, "must return error"},
		{"bad param type", func() { Module("m", "1.0.0"); Reducer("r", func(*Ctx, map[int]int) {}) }, "parameter 0"},
		{"too many names", func() { Module("m", "1.0.0"); Reducer("r", func(*Ctx, int64) {}, "a", "b") }, "2 parameter names for 1"},
		{"duplicate param names", func() { Module("m", "1.0.0"); Reducer("r", func(*Ctx, int64, int64) {}, "a", "a") }, "unique identifier"},
		{"variadic", func() { Module("m", "1.0.0"); Reducer("r", func(*Ctx, ...int64) {}) }, "want func(*sdk.Ctx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withRegistry(t, func() {
				tc.reg()
				_, err := Schema()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
			})
		})
	}
}

// TestInvokeDecodesArguments runs reducers natively (no host calls) to
// check argument decoding on the fast and the reflect paths, and that errors
// and panics become failures.
func TestInvokeDecodesArguments(t *testing.T) {
	withRegistry(t, func() {
		Module("m", "1.0.0")
		var got []any
		Reducer("fast", func(_ *Ctx, id uint64, s string, x int64) error {
			got = []any{id, s, x}
			return nil
		})
		Reducer("slow", func(_ *Ctx, id PlayerID, opt *string, l []int32, b []byte) {
			got = []any{id, opt, l, b}
		})
		Reducer("fails", func(*Ctx) error { return errors.New("no") })
		Reducer("panics", func(*Ctx) error { panic("boom") })
		call := func(i int, args ...any) error { return reg.reducers[i].invoke(&theCtx, row.MustEncode(args...)) }

		if err := call(0, uint64(1), "s", int64(-2)); err != nil || !reflect.DeepEqual(got, []any{uint64(1), "s", int64(-2)}) {
			t.Fatalf("fast: %v %v", err, got)
		}
		if err := call(1, uint64(9), nil, []any{int32(1)}, []byte("b")); err != nil ||
			!reflect.DeepEqual(got, []any{PlayerID(9), (*string)(nil), []int32{1}, []byte("b")}) {
			t.Fatalf("slow: %v %#v", err, got)
		}
		if err := call(0, uint64(1), "s"); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "reducer fast: ") {
			t.Fatalf("arity: %v", err)
		}
		if err := call(1, "x", nil, []any{}, []byte{}); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "argument 0") {
			t.Fatalf("type: %v", err)
		}
		if st := dispatch(2, row.MustEncode()); st == 0 {
			t.Fatal("error did not fail the call")
		}
		if st := dispatch(3, row.MustEncode()); st == 0 {
			t.Fatal("panic did not fail the call")
		}
		if st := dispatch(4, row.MustEncode()); st == 0 {
			t.Fatal("unknown reducer index succeeded")
		}
		// Malformed argument buffers fail the call as an error (status
		// 1), like a decoding error, not as a panic (status 2).
		for _, bad := range [][]byte{nil, {1, 2, 3}, {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5}} {
			if st := dispatch(0, bad); st != 1 || decodingArgs {
				t.Fatalf("malformed arguments %x: status %d, decodingArgs %v", bad, st, decodingArgs)
			}
		}
		if st := dispatch(0, row.MustEncode(uint64(1), "s", int64(-2))); st != 0 {
			t.Fatalf("status %d after malformed arguments", st)
		}
	})
}

func TestHostErrors(t *testing.T) {
	err := hostErr("insert", "players", abi.StatusDuplicateKey)
	if !errors.Is(err, ErrDuplicateKey) || err.Error() != "insert players: interstice: duplicate key" {
		t.Fatalf("%v", err)
	}
	var he *HostError
	if !errors.As(err, &he) || he.Code != -5 {
		t.Fatalf("%#v", err)
	}
	if hostErr("get", "t", 0) != nil || hostErr("scan", "t", abi.StatusDone) != nil {
		t.Fatal("non-negative status is an error")
	}
	if err := hostErr("x", "t", -99); err.Error() != "x t: interstice: status -99" {
		t.Fatalf("%v", err)
	}
	// Natively there is no host.
	if _, err := (&DynamicTable{ref: tableRef{name: "t"}}).Count(); !errors.Is(err, ErrNotInHost) {
		t.Fatalf("native count: %v", err)
	}
}

// TestTableWrites checks the status handling of the row writes natively,
// where every host call fails with ErrNotInHost.
func TestTableWrites(t *testing.T) {
	r := &tableRef{name: "t", handle: 3, ok: true}
	calls := 0
	f := func(h int32, _ []byte) int32 { calls++; return 0 }
	if err := r.writeFailed("insert", f, nil, abi.StatusDuplicateKey); !errors.Is(err, ErrDuplicateKey) || calls != 0 || !r.ok {
		t.Fatalf("duplicate key: %v, %d calls, ok %v", err, calls, r.ok)
	}
	// ERR_NO_TABLE resolves the handle again (which fails natively) before
	// retrying.
	if err := r.writeFailed("insert", f, nil, abi.StatusNoTable); !errors.Is(err, ErrNotInHost) || calls != 0 || r.ok {
		t.Fatalf("no table: %v, %d calls, ok %v", err, calls, r.ok)
	}
	for _, ok := range []bool{true, false} {
		r.ok = ok
		for name, f := range map[string]func(int32, []byte) int32{"insert": hostInsert, "update": hostUpdate, "upsert": upsert, "delete": hostDelete} {
			if err := r.write(name, f, nil); !errors.Is(err, ErrNotInHost) {
				t.Errorf("%s with resolved handle %v: %v", name, ok, err)
			}
		}
	}
}

func TestDefaultsAndMigration(t *testing.T) {
	type v2 struct {
		ID    uint64   `ist:"id,pk"`
		Level int32    `ist:"level"`
		Tags  []string `ist:"tags"`
		Note  *string  `ist:"note"`
	}
	withRegistry(t, func() {
		Module("m", "2.0.0")
		Table[v2]("items", Public, Default("level", 3), Default("tags", []string{"a", "b"}), Default("note", nil))
		Migration("upgrade", func(*Ctx) error { return nil })
		buf, err := Schema()
		if err != nil {
			t.Fatal(err)
		}
		s := fb.GetRootAsModuleSchema(buf, 0)
		if string(s.Migration()) != "upgrade" {
			t.Fatalf("migration %q", s.Migration())
		}
		var td fb.TableDef
		var col fb.Column
		var dv fb.Value
		s.Tables(&td, 0)
		td.Columns(&col, 1)
		if col.DefaultValue(&dv) == nil || dv.Type() != fb.ValueTypeI32 || dv.I() != 3 {
			t.Fatalf("level default %v", dv.Type())
		}
		td.Columns(&col, 2)
		if col.DefaultValue(&dv) == nil || dv.Type() != fb.ValueTypeList || dv.ListLength() != 2 {
			t.Fatalf("tags default")
		}
		td.Columns(&col, 3)
		if col.DefaultValue(&dv) == nil || dv.Type() != fb.ValueTypeNull {
			t.Fatalf("note default")
		}
		td.Columns(&col, 0)
		if col.DefaultValue(&dv) != nil {
			t.Fatal("id has a default")
		}
	})
	withRegistry(t, func() {
		Module("m", "1.0.0")
		Table[v2]("items", Public, Default("level", "x"))
		Table[v2]("more", Public, Default("nosuch", 1))
		Migration("a", func(*Ctx) error { return nil })
		Migration("b", func(*Ctx) error { return nil })
		_, err := Schema()
		if err == nil || !strings.Contains(err.Error(), "default of column level") ||
			!strings.Contains(err.Error(), `unknown column "nosuch"`) || !strings.Contains(err.Error(), "two migrations") {
			t.Fatalf("error %v", err)
		}
	})
}
