// Package sdk is the Go guest SDK for Interstice: write a module (tables,
// reducers, subscriptions) in plain Go and build it to WebAssembly with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm ./counter
//
// The import path ends in "go", which is not a valid package name, so
// import it with the name sdk:
//
//	import sdk "github.com/interstice/interstice/sdk/go"
//
// A module declares everything during package initialisation (init
// functions and package-level variables); with -buildmode=c-shared the Go
// runtime is started by the module's _initialize export and main is never
// called, so main can stay empty:
//
//	type Counter struct {
//		Name  string `ist:"name,pk"`
//		Value int64  `ist:"value"`
//	}
//
//	var counters = sdk.Table[Counter]("counters", sdk.Public)
//
//	func init() {
//		sdk.Module("counter", "1.0.0")
//		sdk.Reducer("add", func(ctx *sdk.Ctx, name string, by int64) error {
//			c, _, err := counters.Get(name)
//			if err != nil {
//				return err
//			}
//			c.Name, c.Value = name, c.Value+by
//			return counters.Upsert(c)
//		}, "name", "by")
//	}
//
//	func main() {}
//
// The package implements the guest side of docs/ABI.md, including its
// exports (interstice_describe, interstice_alloc, interstice_call), so a
// module has no //go:wasmexport of its own. Rows and arguments are
// FlatBuffers Row buffers: the SDK reads them with the generated accessors
// of fbs/fb, and writes them with its own row writer (encode.go), which
// produces byte for byte what package row's Builder-based encoder does
// (README.md, "Encoding rows").
//
// Outside WebAssembly the package compiles with host calls that fail with
// ErrNotInHost, so a module's schema can be checked by a native test with
// Schema. See README.md for type mapping, subscriptions, errors,
// determinism and limits.
package sdk
