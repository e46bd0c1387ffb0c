package sdk_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
	"github.com/interstice/interstice/sdk/go/internal/stubhost"
)

// TestCounterSchema builds examples/counter to wasm, runs its describe
// export in wazero and checks the ModuleSchema it returns.
func TestCounterSchema(t *testing.T) {
	h := stubhost.New(t)
	m, err := h.Load(stubhost.Build(t, "./examples/counter"))
	if err != nil {
		t.Fatal(err)
	}
	s := m.Schema
	if s.AbiVersion() != 1 || string(s.Name()) != "counter" || string(s.Version()) != "1.0.0" {
		t.Fatalf("header: abi %d name %q version %q", s.AbiVersion(), s.Name(), s.Version())
	}
	if s.TablesLength() != 1 {
		t.Fatalf("%d tables", s.TablesLength())
	}
	var td fb.TableDef
	s.Tables(&td, 0)
	var cols []string
	var col fb.Column
	for i := 0; i < td.ColumnsLength(); i++ {
		td.Columns(&col, i)
		cols = append(cols, string(col.Name())+":"+row.TypeFromFB(col.Type(nil)).String())
	}
	if got := strings.Join(cols, ","); string(td.Name()) != "counters" || got != "name:string,value:i64" || td.PrimaryKey() != 0 || !td.Public() {
		t.Fatalf("table %s(%s) pk %d public %v", td.Name(), got, td.PrimaryKey(), td.Public())
	}
	want := []string{"add(name:string,by:i64)", "reset(name:string)", "remove(name:string)"}
	if got := reducers(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("reducers %v, want %v", got, want)
	}
	if s.SubscriptionsLength() != 0 {
		t.Fatalf("%d subscriptions", s.SubscriptionsLength())
	}
}

func reducers(s *fb.ModuleSchema) []string {
	var out []string
	var rd fb.ReducerDef
	var p fb.Param
	for i := 0; i < s.ReducersLength(); i++ {
		s.Reducers(&rd, i)
		var ps []string
		for j := 0; j < rd.ParamsLength(); j++ {
			rd.Params(&p, j)
			ps = append(ps, string(p.Name())+":"+row.TypeFromFB(p.Type(nil)).String())
		}
		out = append(out, string(rd.Name())+"("+strings.Join(ps, ",")+")")
	}
	return out
}

// TestCounterReducers calls the counter's reducers through the ABI and
// checks the host-side rows and errors.
func TestCounterReducers(t *testing.T) {
	h := stubhost.New(t)
	if _, err := h.Load(stubhost.Build(t, "./examples/counter")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		reducer string
		args    []any
		wantErr string
		want    string // counters rows after the step
	}{
		{"insert", "add", []any{"a", int64(5)}, "", "[[a 5]]"},
		{"update", "add", []any{"a", int64(-2)}, "", "[[a 3]]"},
		{"second", "add", []any{"b", int64(1)}, "", "[[a 3] [b 1]]"},
		{"reset", "reset", []any{"a"}, "", "[[a 0] [b 1]]"},
		{"reset missing", "reset", []any{"zz"}, `no counter "zz"`, "[[a 0] [b 1]]"},
		{"remove", "remove", []any{"b"}, "", "[[a 0]]"},
		{"remove missing", "remove", []any{"b"}, "delete counters: interstice: not found", "[[a 0]]"},
		{"wrong arg type", "add", []any{"a", "x"}, "type mismatch", "[[a 0]]"},
	}
	for _, st := range steps {
		err := h.Call("counter", st.reducer, st.args...)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: error %v, want %q", st.name, err, st.wantErr)
		}
		if got := fmtRows(h.Tables["counter.counters"].Sorted()); got != st.want {
			t.Fatalf("%s: rows %s, want %s", st.name, got, st.want)
		}
	}
	if len(h.Logs) != 1 || !strings.Contains(h.Logs[0], "counter a reset") {
		t.Fatalf("logs %q", h.Logs)
	}
}

func fmtRows(rows [][]any) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmtAny(r)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtAny(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []byte:
		return fmt.Sprintf("0x%x", x)
	}
	return fmt.Sprint(v)
}
