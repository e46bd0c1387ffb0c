package core

import (
	"context"
	"testing"
)

// TestJSONEntryPointsRefuseTrailingData: CallJSON arguments and GetJSON
// keys are exactly one JSON value; a stray bracket after it fails with
// TYPE and commits nothing.
func TestJSONEntryPointsRefuseTrailingData(t *testing.T) {
	rt := open(t, testConfig(t), kvWasm(t))
	mustCall(t, rt, "kv", "put", uint64(1), "one")
	tests := []struct {
		name string
		run  func() error
		want Code
	}{
		{"call with a stray bracket after the array", func() error {
			_, err := rt.CallJSON(context.Background(), "kv", "put", []byte(`[50,"x"]]`))
			return err
		}, CodeType},
		{"call with stray brackets after the object", func() error {
			_, err := rt.CallJSON(context.Background(), "kv", "put", []byte(`{"id":51,"name":"x"}]]]`))
			return err
		}, CodeType},
		{"call with a second value", func() error {
			_, err := rt.CallJSON(context.Background(), "kv", "put", []byte(`[52,"x"] [53,"y"]`))
			return err
		}, CodeType},
		{"get with a stray bracket after the key", func() error {
			_, _, err := rt.GetJSON("kv", "items", []byte("1]"))
			return err
		}, CodeType},
		{"get with a key smuggling a second value", func() error {
			_, _, err := rt.GetJSON("kv", "items", []byte("1],[2"))
			return err
		}, CodeType},
		{"get with whitespace around the key", func() error {
			js, found, err := rt.GetJSON("kv", "items", []byte(" 1\n"))
			if err == nil && (!found || string(js) != `{"id":1,"name":"one"}`) {
				t.Errorf("GetJSON = %s, %v", js, found)
			}
			return err
		}, CodeOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := rt.LastLSN()
			err := tc.run()
			if c := CodeOf(err); c != tc.want {
				t.Fatalf("code %v (%v), want %v", c, err, tc.want)
			}
			if rt.LastLSN() != before {
				t.Fatalf("lsn moved %d -> %d", before, rt.LastLSN())
			}
		})
	}
	if n := count(t, rt, "kv", "items"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
