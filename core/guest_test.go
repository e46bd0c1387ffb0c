package core

import (
	"context"
	"testing"

	"github.com/interstice/interstice/internal/testwasm"
)

// TestGoCounter loads the Go SDK's counter example.
func TestGoCounter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go guest")
	}
	rt := open(t, testConfig(t), testwasm.Go(t, "examples/counter"))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := rt.CallJSON(ctx, "counter", "add", []byte(`{"name":"a","by":2}`)); err != nil {
			t.Fatal(err)
		}
	}
	js, found, err := rt.GetJSON("counter", "counters", []byte(`"a"`))
	if err != nil || !found || string(js) != `{"name":"a","value":6}` {
		t.Fatalf("counter a: %s %v %v", js, found, err)
	}
	_, err = rt.CallJSON(ctx, "counter", "reset", []byte(`["nope"]`))
	wantCode(t, err, CodeReducerFailed)
	t.Log(err)
}
