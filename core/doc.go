// Package core is the Interstice runtime: WASM modules (run by wazero)
// that declare typed tables and reducers, executed one transaction at a
// time, with every transaction written to a durable log before it is
// acknowledged.
//
// # In memory or durable
//
// Open(NewConfig()) is an in-memory runtime that writes nothing.
// Open(NewConfig().WithDataDir(dir)) is durable: every reducer transaction
// and every module load or upgrade is a record of the log in dir, durable
// (under the default sync policy, fdatasynced) before Call or LoadModule
// returns. Concurrent callers share fdatasyncs (group commit): execution
// is serialized, but a caller waits for durability after releasing the
// executor, so the next caller runs meanwhile. CallAsync queues a call
// instead of waiting for it: queued calls run back to back and their done
// functions run on the runtime's completion goroutine. Host callbacks
// (Subscribe, the log sink) run once the call is durable, one call at a
// time, in commit order.
//
// Open rebuilds the state from the newest valid snapshot plus the log
// after it, applying mutations only: no WASM runs, no subscription and no
// host callback fires, nothing is written to the log. A module restored
// this way is compiled and instantiated on its first call, from the wasm
// kept in the data directory under its hash.
//
// # Data directory
//
// (internal/datadir owns the layout, the wasm store and the snapshot and
// retention protocol; internal/record encodes what the files hold.)
//
//	DIR/log/                  the transaction log (package persistence):
//	                          <20-digit first lsn>.log segments, LOCK,
//	                          *.broken files kept by tail truncation
//	DIR/snapshots/            <20-digit lsn>.snap: the whole state after
//	                          that LSN (an fb.Snapshot body in a checksummed
//	                          file, docs/FORMAT.md)
//	DIR/modules/<sha256>.wasm the wasm of every module version ever loaded,
//	                          named by the lowercase hex SHA-256 of its bytes;
//	                          written (temp file, fsync, rename, directory
//	                          fsync) before its ModuleLoad record is committed
//
// # Failure model
//
// A failed log write or fdatasync fails the calls it covered and poisons
// the runtime: every later call, load, read and snapshot returns
// ErrPoisoned, because memory may hold transactions the log does not.
// Close it and Open again: the state is rebuilt from exactly what the log
// holds. Transactions that other callers observed through reads before
// the failure was known may be among those lost; none of them was
// acknowledged to its caller or shown to a host callback.
//
// # What core owns
//
// core is the runtime's public face (Runtime, Config, Code and Error, the
// *Info types, CallResult, Event) and what ties the parts together: the
// module registry, reducer execution and host functions, subscriptions,
// the commit path, and the replay loop that follows module loads. The
// parts are internal packages with one job each, and data flows one way:
//
//	core/internal/engine    wazero: compilation and module checks, guest memory, the watchdog
//	core/internal/interrupt the interrupt-flag instrumentation and pre-compile checks
//	core/internal/store     tables' B-trees, the transaction overlay, bulk loading
//	core/internal/recovery  replay's staging and apply, the snapshot row check
//	core/internal/datadir   the data directory: layout, wasm store, snapshot/retention
//	internal/record         the record and snapshot codec (shared with capi and the CLI)
//	internal/abi            the guest ABI's status codes (shared with the Go SDK)
//	persistence             the log of opaque frames and snapshot files
//
// None of them imports core, and persistence imports none of them.
package core
