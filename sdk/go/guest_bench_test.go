//go:build wasip1

package sdk

// Guest-side micro-benchmarks: they run inside wasm, under wazero, with the
// host imports stubbed out (every import returns 0 at once):
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "go run ./sdk/go/internal/wasmexec" \
//	    -run '^$' -bench Guest ./sdk/go/
//
// Add WASMEXEC_TERMINATION=1 to compile the guest as core does with a call
// deadline. See bench_test.go for calls on the real host.

import (
	"reflect"
	"testing"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

type benchKV struct {
	ID    uint64 `ist:"id,pk"`
	Name  string `ist:"name"`
	Value int64  `ist:"value"`
}

var sink any

//go:noinline
func benchLeaf(x int) int { return x + 1 }

//go:noinline
func benchNonLeaf(x int) int { return benchLeaf(x) + 1 }

// BenchmarkGuestCall is the cost of one Go function call that is not
// inlined (and so enters a wasm loop: a termination check under a
// deadline).
func BenchmarkGuestCall(b *testing.B) {
	x := 0
	for i := 0; i < b.N; i++ {
		x = benchNonLeaf(x)
	}
	sink = x
}

func BenchmarkGuestAlloc16(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink = new([16]byte)
	}
}

func BenchmarkGuestString4(b *testing.B) {
	buf := []byte("name")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sink = string(buf)
	}
}

// BenchmarkGuestHostCall is one import call (count) that returns at once.
func BenchmarkGuestHostCall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		hostCount(0)
	}
}

func benchPlan(b *testing.B) *rowPlan {
	p, err := planFor(reflect.TypeFor[benchKV]())
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkGuestEncodeRow(b *testing.B) {
	p := benchPlan(b)
	r := benchKV{ID: 1, Name: "name", Value: 2}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.ID = uint64(i)
		p.encode(unsafeptr(&r))
	}
}

// BenchmarkGuestRowBuild is package row's general encoder, the official
// Builder, on the same row, for reference.
func BenchmarkGuestRowBuild(b *testing.B) {
	vals := []any{uint64(1), "name", int64(2)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		builder.Reset()
		if err := row.Build(builder, vals); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuestEncodeAny is the row writer's encoder of []any values
// (Ctx.Call arguments, DynamicTable rows) on the same row.
func BenchmarkGuestEncodeAny(b *testing.B) {
	vals := []any{uint64(1), "name", int64(2)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := encode(vals); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGuestInsert(b *testing.B) {
	t := &TableHandle[benchKV]{ReadOnlyTable[benchKV]{ref: tableRef{name: "kv"}, plan: benchPlan(b)}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := t.Insert(benchKV{ID: uint64(i), Name: "name", Value: 2}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDispatch(b *testing.B, fn any, args []byte, names ...string) {
	saved := reg
	defer func() { reg = saved }()
	reg.reducers, reg.byName, reg.errs = nil, nil, nil
	Reducer("bench", fn, names...)
	if len(reg.errs) > 0 {
		b.Fatal(reg.errs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if st := dispatch(0, args); st != 0 {
			b.Fatal("status", st)
		}
	}
}

func BenchmarkGuestDispatchNoop(b *testing.B) {
	benchDispatch(b, func(*Ctx) error { return nil }, nil)
}

func BenchmarkGuestDispatchArgs3(b *testing.B) {
	benchDispatch(b, func(_ *Ctx, id uint64, name string, value int64) error { return nil },
		row.MustEncode(uint64(1), "name", int64(2)))
}

func BenchmarkGuestDispatchArgs3Reflect(b *testing.B) {
	benchDispatch(b, func(_ *Ctx, id uint64, name string, value int64, flag bool) error { return nil },
		row.MustEncode(uint64(1), "name", int64(2), true))
}

func BenchmarkGuestDispatchInsert(b *testing.B) {
	t := &TableHandle[benchKV]{ReadOnlyTable[benchKV]{ref: tableRef{name: "kv"}, plan: benchPlan(b)}}
	benchDispatch(b, func(_ *Ctx, id uint64, name string, value int64) error {
		return t.Insert(benchKV{ID: id, Name: name, Value: value})
	}, row.MustEncode(uint64(1), "name", int64(2)))
}

func unsafeptr(r *benchKV) unsafe.Pointer { return unsafe.Pointer(r) }

//go:noinline
func benchSpin(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ x
	}
	return x
}

// BenchmarkGuestLoop1000 is 1000 iterations of a trivial loop (a
// termination check each under a deadline).
func BenchmarkGuestLoop1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sink = benchSpin(1000)
	}
}

// builder is a Builder for the reference benchmarks below.
var builder = flatbuffers.NewBuilder(256)

func BenchmarkGuestBuilderReset(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
	}
}

// BenchmarkGuestBuilderValueU is one u64 Value table with the Builder and
// the generated builders (as row.Build writes it), for reference.
func BenchmarkGuestBuilderValueU(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
		fb.ValueStart(builder)
		fb.ValueAddType(builder, fb.ValueTypeU64)
		fb.ValueAddU(builder, uint64(i))
		fb.ValueEnd(builder)
	}
}

// BenchmarkGuestWriterValueU is the same Value table with the row writer.
func BenchmarkGuestWriterValueU(b *testing.B) {
	c, _ := codecFor(reflect.TypeFor[uint64]())
	x := uint64(0)
	for i := 0; i < b.N; i++ {
		x = uint64(i)
		wr.start()
		c.enc(&wr, c, unsafe.Pointer(&x))
	}
}

func BenchmarkGuestBuilderString(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
		builder.CreateString("name")
	}
}

func BenchmarkGuestBuilderPrep(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
		builder.Prep(4, 0)
	}
}

// BenchmarkGuestDecodeArgs3 is decodeArgs alone (no dispatch) on the
// arguments of DispatchArgs3.
func BenchmarkGuestDecodeArgs3(b *testing.B) {
	args := row.MustEncode(uint64(1), "name", int64(2))
	var (
		id    uint64
		name  string
		value int64
	)
	cs := make([]*codec, 3)
	for i, t := range []reflect.Type{reflect.TypeFor[uint64](), reflect.TypeFor[string](), reflect.TypeFor[int64]()} {
		cs[i], _ = codecFor(t)
	}
	ptrs := []unsafe.Pointer{unsafe.Pointer(&id), unsafe.Pointer(&name), unsafe.Pointer(&value)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := decodeArgs("bench", args, cs, ptrs); err != nil {
			b.Fatal(err)
		}
	}
	sink = name
}

// BenchmarkGuestAccessors3 is the generated accessors' part of decoding
// the same arguments: ValuesLength, then Values, Type and the payload of
// each value (no string copy).
func BenchmarkGuestAccessors3(b *testing.B) {
	args := row.MustEncode(uint64(1), "name", int64(2))
	var r fb.Row
	var v fb.Value
	x := 0
	for i := 0; i < b.N; i++ {
		r.Init(args, flatbuffers.GetUOffsetT(args))
		x += r.ValuesLength()
		r.Values(&v, 0)
		x += int(v.Type()) + int(v.U())
		r.Values(&v, 1)
		x += int(v.Type()) + len(v.S())
		r.Values(&v, 2)
		x += int(v.Type()) + int(v.I())
	}
	sink = x
}
