package core_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/row"
)

// Example loads a module, calls a reducer and reads the row it wrote.
func Example() {
	wasm, err := os.ReadFile(filepath.Join("..", "build", "wasm", "examples_counter.wasm"))
	if err != nil {
		fmt.Println("build the counter example first")
		return
	}
	rt, err := core.Open(core.NewConfig())
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	info, err := rt.LoadModule(wasm)
	if err != nil {
		panic(err)
	}
	cancel, _ := rt.Subscribe(info.Name, info.Tables[0].Name, core.EventAll, func(e core.Event) {
		vals, _ := row.Decode(e.New)
		fmt.Println(e.Op, vals)
	})
	defer cancel()
	if _, err := rt.CallJSON(context.Background(), info.Name, info.Reducers[0].Name, []byte(`[]`)); err != nil {
		fmt.Println(core.CodeOf(err), err)
	}
}
