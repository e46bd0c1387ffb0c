package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/interstice/interstice/core/internal/engine"
	"github.com/interstice/interstice/core/internal/interrupt"
	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// Runtime is an Interstice runtime: loaded modules, their tables and the
// reducer executor. It is safe for use by many goroutines. Reducer calls
// and module loads are serialized (one at a time, in lock order); reads
// (Get, Scan, Count) see committed state only and run concurrently with a
// reducer, waiting at most for the apply step of a commit.
type Runtime struct {
	cfg   Config
	eng   *engine.Engine
	cache *CompilationCache // made by Open and closed by Close; nil when passed in

	// execMu serializes transactions: reducer calls, cascades and loads.
	execMu sync.Mutex
	// applyMu serializes ApplyCommitted (a replica's commit order);
	// appliedHash is the UnitHash of the log's last record (applyMu).
	applyMu     sync.Mutex
	appliedHash uint64
	// unitWasm is the wasm of the module load being committed, for a
	// Replicator's unit (execMu).
	unitWasm []byte
	closed   atomic.Bool

	// stateMu guards the registry and the committed trees against host
	// readers; the executor takes it for writing only to apply a commit or
	// register a module.
	stateMu  sync.RWMutex
	modules  map[string]*module
	order    []*module
	tables   []*table
	versions map[string][]SchemaVersion

	durable // durable.go

	commit   committer
	tx       *tx
	wd       *engine.Watchdog // nil without a call deadline
	wdGen    uint64           // generation of the running transaction
	top      *frame           // innermost executing frame (execMu)
	topDepth int
	frames   []*frame // frame pool by depth
	rec      txn      // the record being committed (reused)
	lastTS   uint64
	queue    []pending
	keyBuf   []byte
	hookMu   sync.Mutex

	// Calls (exec.go).
	exec       *executor   // CallAsync's; nil unless the log syncs every record
	out        *[]delivery // host callbacks of the running call (execMu)
	nextTicket uint64      // delivery order of the next call with callbacks (execMu)
	turnMu     sync.Mutex
	turnCond   sync.Cond // on turnMu: turn advanced
	turn       uint64    // ticket whose callbacks run next
}

// module is a loaded module.
type module struct {
	info          *ModuleInfo
	schema        []byte
	schemaJSON    []byte
	compiled      wazero.CompiledModule
	tables        []*table
	tableByName   map[string]*table
	reducers      []*reducer
	reducerByName map[string]*reducer
	handles       []*handle
	handleByName  map[string]int32
	inst          *instance // nil after a trap until the next call
	onStack       bool
}

// reducer is one reducer of a module.
type reducer struct {
	mod   *module
	idx   int
	name  string
	types []row.Type
	names []string
}

// handle is a guest table handle: a name resolved to a table on first use.
type handle struct {
	name  string
	t     *table
	write bool
}

// instance is one instantiation of a module.
type instance struct {
	m       *module
	mod     api.Module
	mem     api.Memory
	fnCall  api.Function
	fnAlloc api.Function
	target  engine.Target  // the watchdog's view: the interrupt flag (nil without a call deadline) and the module
	gmem    *engine.Memory // the linear memory, nil if the module has none
	argPtr  uint32
	argCap  uint32
	stack   [3]uint64
	clock   int64
	seedLSN uint64
	seeded  bool
	rng     *rand.ChaCha8
	stderr  []byte // tail of stderr, for trap messages
	sink    LogSink
}

// CompilationCache keeps compiled modules so that loading the same wasm
// again does not pay the compiler (~0.7 s for a Go guest). A Runtime opened
// without one (Config.WithCompilationCache) makes its own and closes it
// with itself; one made by NewCompilationCache may be shared by many
// runtimes at once, and its owner closes it after them.
type CompilationCache struct{ c wazero.CompilationCache }

// NewCompilationCache returns a cache kept in dir (on disk, shared with
// every runtime and process using dir), or in memory for "".
func NewCompilationCache(dir string) (*CompilationCache, error) {
	if dir == "" {
		return &CompilationCache{wazero.NewCompilationCache()}, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, &Error{Code: CodeBadArgument, Msg: "compilation cache dir " + dir, Err: err}
	}
	return &CompilationCache{c}, nil
}

// Close releases the cache (an on-disk cache keeps its files).
func (c *CompilationCache) Close() error { return c.c.Close(context.Background()) }

// Open returns a new Runtime with the given configuration.
func Open(cfg Config) (*Runtime, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cache := cfg.cache
	var owned *CompilationCache
	if cache == nil {
		cacheDir := cfg.cacheDir
		if cacheDir == "" && cfg.dataDir != "" && cfg.recovery != persistence.RecoverReadOnly {
			// A durable runtime keeps compiled code beside its data, so a
			// restart does not pay the compiler again (~0.7 s per Go guest).
			cacheDir = filepath.Join(cfg.dataDir, "cache")
		}
		var err error
		if owned, err = NewCompilationCache(cacheDir); err != nil {
			return nil, err
		}
		cache = owned
	}
	ctx := context.Background()
	eng, err := engine.New(ctx, engine.Options{Cache: cache.c, CallDeadline: cfg.callDeadline, MemoryPages: cfg.memoryPages, Host: hostImports()})
	if err != nil {
		if owned != nil {
			owned.Close()
		}
		return nil, &Error{Code: CodeInternal, Msg: "engine", Err: err}
	}
	r := &Runtime{
		cfg:      cfg,
		cache:    owned,
		eng:      eng,
		modules:  map[string]*module{},
		versions: map[string][]SchemaVersion{},
		commit:   &memCommitter{now: cfg.now()},
		tx:       newTx(),
	}
	r.turnCond.L = &r.turnMu
	if cfg.callDeadline > 0 {
		r.wd = engine.NewWatchdog(cfg.callDeadline)
	}
	if err := r.instantiateHost(ctx); err != nil {
		r.closeEngine(ctx)
		return nil, &Error{Code: CodeInternal, Msg: "host module", Err: err}
	}
	if cfg.dataDir != "" {
		if err := r.openData(); err != nil {
			r.closeData()
			r.closeEngine(ctx)
			return nil, err
		}
	}
	return r, nil
}

// Close releases the runtime and every module instance. Later calls return
// ErrClosed. Close waits for a running call to finish.
func (r *Runtime) Close() error {
	r.stopExecutor()
	r.snapMu.Lock() // not in the middle of writing a snapshot
	defer r.snapMu.Unlock()
	r.execMu.Lock()
	defer r.execMu.Unlock()
	if r.closed.Swap(true) {
		return nil
	}
	err := r.closeData()
	if werr := r.closeEngine(context.Background()); err == nil {
		err = werr
	}
	return err
}

// closeEngine stops the watchdog and closes wazero and the compilation
// cache the runtime owns.
func (r *Runtime) closeEngine(ctx context.Context) error {
	r.stopWatchdog()
	err := r.eng.Close(ctx)
	if r.cache != nil {
		if cerr := r.cache.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (r *Runtime) stopWatchdog() {
	if r.wd != nil {
		r.wd.Close()
	}
}

var errClosed = &Error{Code: CodeClosed, Msg: "runtime is closed"}

// Modules returns the loaded modules in load order.
func (r *Runtime) Modules() []*ModuleInfo {
	r.stateMu.RLock()
	defer r.stateMu.RUnlock()
	out := make([]*ModuleInfo, len(r.order))
	for i, m := range r.order {
		out[i] = m.info
	}
	return out
}

// Describe returns the schema of a loaded module: the ModuleSchema
// FlatBuffers bytes its describe export returned, and a JSON form.
func (r *Runtime) Describe(name string) (schema, jsonForm []byte, err error) {
	r.stateMu.RLock()
	m := r.modules[name]
	r.stateMu.RUnlock()
	if m == nil {
		return nil, nil, &Error{Code: CodeNotFound, Module: name, Msg: "no such module"}
	}
	return m.schema, m.schemaJSON, nil
}

// LoadModule compiles, instantiates and registers a module, reads and
// validates its schema, and commits a ModuleLoad transaction (in a durable
// runtime the wasm bytes are first stored in the data directory under
// their SHA-256, and the record is durable before LoadModule returns).
//
// Loading a module already loaded with the same name, version and code is
// a no-op that returns the loaded ModuleInfo; the same version with other
// code is ErrIncompatible. Another version is an upgrade
// (docs/MIGRATIONS.md): the new schema must be compatible (ErrIncompatible
// names the module, table and column otherwise), existing rows of a table
// with added columns get the columns' defaults, and the new version's
// migration reducer, if it declares one, runs in the same transaction; if
// it fails, the upgrade is rolled back and the old version stays.
func (r *Runtime) LoadModule(wasm []byte) (*ModuleInfo, error) {
	if err := r.usable(); err != nil {
		return nil, err
	}
	if len(wasm) == 0 {
		return nil, &Error{Code: CodeInvalidWasm, Msg: "empty module"}
	}
	sum := sha256.Sum256(wasm)
	ctx := context.Background()
	compiled, err := r.compile(wasm)
	if err != nil {
		return nil, err
	}
	m := &module{compiled: compiled, handleByName: map[string]int32{}}
	inst, err := r.instantiate(m)
	if err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	fail := func(err error) (*ModuleInfo, error) {
		inst.mod.Close(ctx)
		compiled.Close(ctx)
		return nil, err
	}
	schema, err := r.describe(inst)
	if err != nil {
		return fail(err)
	}
	info, err := parseSchema(schema)
	if err != nil {
		return fail(err)
	}
	info.WasmSHA256 = sum
	m.info, m.schema, m.inst = info, schema, inst
	m.build()
	if r.dir != nil {
		// Before the record: a committed load must find its wasm at restart.
		if err := r.dir.StoreWasm(sum, wasm); err != nil {
			return fail(logErr("store module wasm in "+r.dir.ModulesPath(), err))
		}
	}

	r.execMu.Lock()
	if err := r.usable(); err != nil {
		r.execMu.Unlock()
		return fail(err)
	}
	if old := r.modules[info.Name]; old != nil {
		switch {
		case old.info.Version == info.Version && old.info.WasmSHA256 == sum:
			r.execMu.Unlock()
			inst.mod.Close(ctx)
			return old.info, nil
		case old.info.Version == info.Version:
			r.execMu.Unlock()
			return fail(&Error{Code: CodeIncompatible, Module: info.Name, Msg: fmt.Sprintf("version %s is already loaded with different code", info.Version)})
		}
		r.unitWasm = wasm // a Replicator's unit carries it (replicate.go)
		err := r.upgradeLocked(old, m)
		r.unitWasm = nil
		w := r.takeWait()
		r.execMu.Unlock()
		if err != nil {
			return fail(err)
		}
		if err := r.waitDurable(w); err != nil {
			return nil, err
		}
		return info, nil
	}
	if err := r.checkSubs(m, nil); err != nil {
		r.execMu.Unlock()
		return fail(err)
	}
	lsn, ts := r.commit.next()
	rec := txn{LSN: lsn, Timestamp: ts, Kind: fb.TxKindModuleLoad, Module: info.Name,
		ModuleRecord: &moduleRecord{Name: info.Name, Version: info.Version, Schema: schema, WasmSHA256: sum[:]}}
	r.unitWasm = wasm // a Replicator's unit carries it (replicate.go)
	err = r.commit.commit(&rec)
	r.unitWasm = nil
	if err != nil {
		r.execMu.Unlock()
		return fail(&Error{Code: logCode(err), Module: info.Name, Msg: "commit of module load", Err: err})
	}
	r.stateMu.Lock()
	r.addModuleLocked(m, lsn)
	r.stateMu.Unlock()
	w := r.takeWait()
	r.execMu.Unlock()
	if err := r.waitDurable(w); err != nil {
		return nil, err
	}
	return info, nil
}

// compile checks and compiles wasm (engine.Compile: the module limits,
// the interrupt instrumentation under a call deadline, the exports and
// imports), turning a refusal into its code: CodeInvalidWasm, CodeLimit,
// CodeMissingExport or CodeBadImport.
func (r *Runtime) compile(wasm []byte) (wazero.CompiledModule, error) {
	c, err := r.eng.Compile(wasm)
	var ee *engine.Error
	if errors.As(err, &ee) {
		return nil, &Error{Code: engineCodes[ee.Kind], Msg: ee.Msg, Err: ee.Err}
	}
	return c, err
}

// engineCodes are the codes of the engine's refusals.
var engineCodes = map[engine.Kind]Code{
	engine.KindInvalid:       CodeInvalidWasm,
	engine.KindLimit:         CodeLimit,
	engine.KindMissingExport: CodeMissingExport,
	engine.KindBadImport:     CodeBadImport,
}

// build creates the module's tables and reducers from m.info.
func (m *module) build() {
	info := m.info
	if m.handleByName == nil {
		m.handleByName = map[string]int32{}
	}
	m.tableByName = make(map[string]*table, len(info.Tables))
	m.tables = m.tables[:0]
	for i := range info.Tables {
		ti := &info.Tables[i]
		t := &table{Table: store.Table{ID: -1, Tree: store.NewTree()}, mod: m, name: ti.Name, info: ti, pk: ti.PrimaryKey, public: ti.Public}
		for _, c := range ti.Columns {
			t.types = append(t.types, c.Type)
			t.names = append(t.names, c.Name)
		}
		t.pkType, t.pkField = t.types[t.pk], t.names[t.pk]
		m.tables = append(m.tables, t)
		m.tableByName[t.name] = t
	}
	m.reducerByName = make(map[string]*reducer, len(info.Reducers))
	m.reducers = m.reducers[:0]
	for i := range info.Reducers {
		ri := &info.Reducers[i]
		rd := &reducer{mod: m, idx: i, name: ri.Name}
		for _, p := range ri.Params {
			rd.types = append(rd.types, p.Type)
			rd.names = append(rd.names, p.Name)
		}
		m.reducers = append(m.reducers, rd)
		m.reducerByName[rd.name] = rd
	}
	m.schemaJSON = schemaJSON(info)
}

// checkSubs checks that m's subscriptions to other modules name loaded
// modules' public tables. replacing, if set, is the module m replaces.
func (r *Runtime) checkSubs(m *module, replacing *module) error {
	info := m.info
	for _, s := range info.Subscriptions {
		if s.Module == info.Name {
			continue
		}
		other := r.modules[s.Module]
		if other == nil {
			return &Error{Code: CodeBadSubscription, Module: info.Name, Reducer: s.Reducer, Table: s.Module + "." + s.Table, Msg: "module " + s.Module + " is not loaded (load it first)"}
		}
		t := other.tableByName[s.Table]
		if t == nil {
			return &Error{Code: CodeBadSubscription, Module: info.Name, Reducer: s.Reducer, Table: s.Module + "." + s.Table, Msg: "no such table"}
		}
		if !t.public {
			return &Error{Code: CodeBadSubscription, Module: info.Name, Reducer: s.Reducer, Table: s.Module + "." + s.Table, Msg: "table is private"}
		}
	}
	return nil
}

// addModuleLocked registers a new module (stateMu held for writing).
func (r *Runtime) addModuleLocked(m *module, lsn uint64) {
	for _, t := range m.tables {
		t.ID = len(r.tables)
		r.tables = append(r.tables, t)
	}
	r.modules[m.info.Name] = m
	r.order = append(r.order, m)
	r.versions[m.info.Name] = append(r.versions[m.info.Name], SchemaVersion{LSN: lsn, Version: m.info.Version, WasmSHA256: m.info.WasmSHA256, Schema: m.schema})
	r.rebuildSubsLocked()
}

// rebuildSubsLocked recomputes every table's guest subscribers from the
// loaded modules, in load then declaration order.
func (r *Runtime) rebuildSubsLocked() {
	for _, m := range r.order {
		for _, t := range m.tables {
			t.subs = [3][]*reducer{}
		}
	}
	for _, m := range r.order {
		for _, s := range m.info.Subscriptions {
			other := r.modules[s.Module]
			if other == nil {
				continue
			}
			t := other.tableByName[s.Table]
			if t == nil {
				continue
			}
			t.subs[s.Event] = append(t.subs[s.Event], m.reducerByName[s.Reducer])
		}
	}
}

// initCtx marks host calls made while a module instantiates (from
// _initialize) or describes itself: there is no transaction then.
type initCtx struct {
	context.Context
	f *frame
}

// instantiate creates a module instance with a deterministic WASI: the
// clock reads the current transaction's timestamp (1 while
// initializing: the Go runtime refuses a zero clock), random bytes come from ChaCha8 seeded from the LSN (a
// fixed seed while initializing), and there is no filesystem, environment,
// arguments or network. Stdout and stderr go to the log sink.
//
// _initialize is called after instantiation rather than as a start
// function, so that it runs with the instance's interrupt flag reachable:
// it gets the call deadline as its own budget (bounded), at load and when
// an instance is rebuilt after a trap. So does a start section's function,
// which the instrumentation exports as interrupt.StartExport instead.
func (r *Runtime) instantiate(m *module) (*instance, error) {
	r.guestEntries.Add(1)
	inst := &instance{m: m, sink: r.guestSink(), rng: rand.NewChaCha8([32]byte{}), clock: 1}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithWalltime(inst.walltime, 1).
		WithNanotime(inst.nanotime, 1).
		WithNanosleep(func(int64) {}).
		WithOsyield(func() {}).
		WithRandSource(inst).
		WithStdout(logWriter{inst, LogInfo}).
		WithStderr(logWriter{inst, LogWarn})
	// Every linear memory is an engine.Memory: it enforces the page limit and
	// records a refused grow (callError reports CodeLimit only then).
	alloc := experimental.MemoryAllocatorFunc(func(capacity, _ uint64) experimental.LinearMemory {
		inst.gmem = engine.NewMemory(capacity, r.cfg.memoryPages)
		return inst.gmem
	})
	ctx := &initCtx{experimental.WithMemoryAllocator(context.Background(), alloc), &frame{mod: m, inst: inst}}
	name := ""
	if m.info != nil {
		name = m.info.Name
	}
	mod, err := r.eng.Runtime().InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, &Error{Code: CodeTrap, Module: name, Msg: "instantiation failed" + inst.stderrNote(), Err: err}
	}
	inst.mod = mod
	inst.target.Mod = mod
	inst.mem = mod.Memory()
	inst.fnCall = mod.ExportedFunction("interstice_call")
	inst.fnAlloc = mod.ExportedFunction("interstice_alloc")
	if r.cfg.callDeadline > 0 {
		g, ok := mod.ExportedGlobal(interrupt.ExportName).(api.MutableGlobal)
		if !ok {
			mod.Close(context.Background())
			return nil, &Error{Code: CodeInternal, Module: name, Msg: "instrumented module has no interrupt global"}
		}
		inst.target.Flag = g
	}
	// The start function (moved out of the start section by the
	// instrumentation, so that it runs bounded), then _initialize.
	for _, export := range []string{interrupt.StartExport, "_initialize"} {
		fn := mod.ExportedFunction(export)
		if fn == nil || (export == interrupt.StartExport && inst.target.Flag == nil) {
			continue
		}
		if timedOut, err := r.bounded(inst, func() error { _, err := fn.Call(ctx); return err }); err != nil {
			mod.Close(context.Background())
			if timedOut {
				return nil, &Error{Code: CodeTimeout, Module: name, Msg: "instantiation (" + export + ") exceeded the call deadline", Err: err}
			}
			return nil, &Error{Code: CodeTrap, Module: name, Msg: "instantiation failed" + inst.stderrNote(), Err: err}
		}
	}
	return inst, nil
}

// bounded runs fn, a call into inst outside any transaction
// (_initialize, describe), with the call deadline as its budget
// (engine.Bounded).
func (r *Runtime) bounded(inst *instance, fn func() error) (timedOut bool, err error) {
	return engine.Bounded(&inst.target, r.cfg.callDeadline, fn)
}

func (r *Runtime) describe(inst *instance) ([]byte, error) {
	var res []uint64
	timedOut, err := r.bounded(inst, func() (err error) {
		res, err = inst.mod.ExportedFunction("interstice_describe").Call(&initCtx{context.Background(), &frame{mod: inst.m, inst: inst}})
		return err
	})
	if err != nil {
		if timedOut {
			return nil, &Error{Code: CodeTimeout, Msg: "interstice_describe exceeded the call deadline", Err: err}
		}
		return nil, &Error{Code: CodeMalformed, Msg: "interstice_describe trapped" + inst.stderrNote(), Err: err}
	}
	ptr, n := uint32(res[0]>>32), uint32(res[0])
	buf, ok := inst.mem.Read(ptr, n)
	if !ok {
		return nil, &Error{Code: CodeMalformed, Msg: fmt.Sprintf("describe returned ptr %d len %d outside memory (%d bytes)", ptr, n, inst.mem.Size())}
	}
	return bytes.Clone(buf), nil
}

func (i *instance) walltime() (int64, int32) {
	return i.clock / 1e9, int32(i.clock % 1e9)
}
func (i *instance) nanotime() int64 { return i.clock }

// Read implements the WASI random source.
func (i *instance) Read(p []byte) (int, error) {
	if !i.seeded {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], i.seedLSN)
		copy(seed[8:], "interstice")
		i.rng.Seed(seed)
		i.seeded = true
	}
	return i.rng.Read(p)
}

// enter prepares the instance for a transaction.
func (i *instance) enter(lsn, ts uint64) {
	i.clock = int64(ts)
	if i.gmem != nil {
		i.gmem.Reset()
	}
	if i.seedLSN != lsn || !i.seeded {
		i.seedLSN, i.seeded = lsn, false
	}
}

func (i *instance) stderrNote() string {
	s := strings.TrimSpace(string(i.stderr))
	if s == "" {
		return ""
	}
	return " (stderr: " + s + ")"
}

// panicLine returns the last line of the guest's stderr that starts with
// "panic: " (what a Go guest prints when it panics outside the SDK's
// recovery), or "".
func (i *instance) panicLine() string {
	s := string(i.stderr)
	for s != "" {
		j := strings.LastIndex(s, "panic: ")
		if j < 0 {
			return ""
		}
		if j == 0 || s[j-1] == '\n' {
			line := s[j:]
			if k := strings.IndexByte(line, '\n'); k >= 0 {
				line = line[:k]
			}
			return strings.TrimSpace(line)
		}
		s = s[:j]
	}
	return ""
}

const stderrTail = 1024

type logWriter struct {
	i     *instance
	level LogLevel
}

func (w logWriter) Write(p []byte) (int, error) {
	if w.level == LogWarn {
		w.i.stderr = append(w.i.stderr, p...)
		if n := len(w.i.stderr); n > stderrTail {
			w.i.stderr = append(w.i.stderr[:0], w.i.stderr[n-stderrTail:]...)
		}
	}
	if w.i.sink != nil {
		name := ""
		if w.i.m.info != nil {
			name = w.i.m.info.Name
		}
		w.i.sink(name, w.level, strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// schemaJSON renders a ModuleInfo as JSON (the form Describe returns).
func schemaJSON(info *ModuleInfo) []byte {
	type col struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type tbl struct {
		Name       string `json:"name"`
		Public     bool   `json:"public"`
		PrimaryKey string `json:"primary_key"`
		Columns    []col  `json:"columns"`
	}
	type red struct {
		Name   string `json:"name"`
		Params []col  `json:"params"`
	}
	type sub struct {
		Module  string `json:"module"`
		Table   string `json:"table"`
		Event   string `json:"event"`
		Reducer string `json:"reducer"`
	}
	out := struct {
		ABIVersion    int    `json:"abi_version"`
		Name          string `json:"name"`
		Version       string `json:"version"`
		Tables        []tbl  `json:"tables"`
		Reducers      []red  `json:"reducers"`
		Subscriptions []sub  `json:"subscriptions"`
	}{ABIVersion: GuestABIVersion, Name: info.Name, Version: info.Version, Tables: []tbl{}, Reducers: []red{}, Subscriptions: []sub{}}
	cols := func(cs []ColumnInfo) []col {
		o := []col{}
		for _, c := range cs {
			o = append(o, col{c.Name, c.Type.String()})
		}
		return o
	}
	for _, t := range info.Tables {
		out.Tables = append(out.Tables, tbl{t.Name, t.Public, t.Columns[t.PrimaryKey].Name, cols(t.Columns)})
	}
	for _, rd := range info.Reducers {
		out.Reducers = append(out.Reducers, red{rd.Name, cols(rd.Params)})
	}
	for _, s := range info.Subscriptions {
		out.Subscriptions = append(out.Subscriptions, sub{s.Module, s.Table, s.Event.String(), s.Reducer})
	}
	b, _ := json.Marshal(out)
	return b
}
