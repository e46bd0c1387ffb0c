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

// BenchmarkGuestRowBuild is package row's general encoder on the same row,
// for reference.
func BenchmarkGuestRowBuild(b *testing.B) {
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

func BenchmarkGuestBuilderReset(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
	}
}

func BenchmarkGuestBuilderValueU(b *testing.B) {
	for i := 0; i < b.N; i++ {
		builder.Reset()
		buildU(builder, 3, uint64(i))
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
