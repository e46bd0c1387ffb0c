// Command counter is the smallest useful Interstice module: named counters
// that reducers add to, reset and remove.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm ./examples/counter
package main

import (
	"errors"
	"fmt"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Counter is one row of the counters table.
type Counter struct {
	Name  string `ist:"name,pk"`
	Value int64  `ist:"value"`
}

var counters = sdk.Table[Counter]("counters", sdk.Public)

func init() {
	sdk.Module("counter", "1.0.0")

	// add(name, by) adds by to the counter, creating it at 0 first.
	sdk.Reducer("add", func(ctx *sdk.Ctx, name string, by int64) error {
		c, ok, err := counters.Get(name)
		if err != nil {
			return err
		}
		if !ok {
			return counters.Insert(Counter{Name: name, Value: by})
		}
		c.Value += by
		return counters.Update(c)
	}, "name", "by")

	// reset(name) sets an existing counter back to 0.
	sdk.Reducer("reset", func(ctx *sdk.Ctx, name string) error {
		if err := counters.Update(Counter{Name: name}); errors.Is(err, sdk.ErrNotFound) {
			return fmt.Errorf("no counter %q", name)
		} else if err != nil {
			return err
		}
		ctx.Logf("counter %s reset", name)
		return nil
	}, "name")

	// remove(name) deletes a counter.
	sdk.Reducer("remove", func(ctx *sdk.Ctx, name string) error {
		return counters.Delete(name)
	}, "name")
}

func main() {}
