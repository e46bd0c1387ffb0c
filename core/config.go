package core

import (
	"time"

	"github.com/interstice/interstice/persistence"
)

// LogLevel is the level of a guest log line (docs/ABI.md `log`).
type LogLevel int32

// Log levels, as the guest passes them.
const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// LogSink receives guest log lines and guest stdout/stderr output (stdout at
// LogInfo, stderr at LogWarn). The lines of a reducer call are delivered
// after the call ran (and its records are durable), on the goroutine of
// the Call, in turn with its Subscribe hooks (see Subscribe; for CallAsync,
// on the completion goroutine); lines written while a module loads are
// delivered as they are written, on the goroutine of LoadModule. It must
// not call back into the Runtime.
type LogSink func(module string, level LogLevel, msg string)

// Defaults of Config (see RATIONALE.md, "Implementation limits").
const (
	DefaultCallDeadline     = 5 * time.Second
	DefaultMemoryLimitPages = 256 // 16 MiB
	DefaultMaxRowSize       = 1 << 20
	DefaultMaxArgsSize      = 1 << 20
	DefaultMaxCascadeDepth  = 8
	DefaultMaxCascadeCalls  = 10000
)

// Config is the immutable configuration of a Runtime. The zero Config is
// not valid: start from NewConfig and change fields with the With methods,
// which return copies. Invalid values are reported once, by Open.
//
//	rt, err := core.Open(core.NewConfig().WithCallDeadline(time.Second))
type Config struct {
	callDeadline    time.Duration
	memoryPages     uint32
	maxRowSize      int
	maxArgsSize     int
	maxCascadeDepth int
	maxCascadeCalls int
	cacheDir        string
	cache           *CompilationCache
	logSink         LogSink
	clock           func() time.Time
	valid           bool

	// Persistence (durable.go).
	dataDir        string
	replicator     Replicator
	syncPolicy     persistence.SyncPolicy
	syncInterval   time.Duration
	recovery       persistence.RecoveryMode
	segmentSize    int64
	snapTxns       int
	snapBytes      int64
	keepSnapshots  int
	retainSegments int
	progress       func(done, total int64)
	logFS          persistence.FS // tests only: the log's file system (nil: the OS's)
}

// NewConfig returns a Config holding the defaults: a 5 s call deadline,
// 256 memory pages (16 MiB) per module instance, 1 MiB rows and arguments,
// a subscription cascade depth of 8, a compilation cache of the runtime's
// own (WithCompilationCacheDir) and no log sink (guest logs are discarded).
func NewConfig() Config {
	return Config{
		callDeadline:    DefaultCallDeadline,
		memoryPages:     DefaultMemoryLimitPages,
		maxRowSize:      DefaultMaxRowSize,
		maxArgsSize:     DefaultMaxArgsSize,
		maxCascadeDepth: DefaultMaxCascadeDepth,
		maxCascadeCalls: DefaultMaxCascadeCalls,
		keepSnapshots:   DefaultKeepSnapshots,
		valid:           true,
	}
}

// DefaultKeepSnapshots is how many snapshots a durable runtime keeps: the
// newest, and one older to fall back on if the newest is found damaged
// (the log is kept from the oldest one kept).
const DefaultKeepSnapshots = 2

// WithDataDir returns a copy that makes the runtime durable in dir: every
// transaction (reducer call, module load or upgrade) is written to the log
// in dir/log before the call returns, modules' wasm bytes are kept in
// dir/modules, snapshots in dir/snapshots, and Open rebuilds the state from
// the newest valid snapshot and the log (see the package documentation,
// "Data directory"). "" (the default) is an in-memory runtime that writes
// nothing.
func (c Config) WithDataDir(dir string) Config { c.dataDir = dir; return c }

// WithLogFS makes the runtime's log use fs instead of the operating
// system's files (nil restores them): the fault seam through which tests
// inject I/O failures (a full disk, a failing fdatasync) into a runtime
// they do not build themselves, such as a cluster node's.
func (c Config) WithLogFS(fs persistence.FS) Config { c.logFS = fs; return c }

// WithSync returns a copy with the log's sync policy (default
// persistence.SyncAlways: a call returns only after its record is
// fdatasynced; concurrent callers share fdatasyncs).
func (c Config) WithSync(p persistence.SyncPolicy) Config { c.syncPolicy = p; return c }

// WithSyncInterval returns a copy with the fdatasync period of the
// persistence.SyncInterval policy (0, the default, is the log's 100 ms).
func (c Config) WithSyncInterval(d time.Duration) Config { c.syncInterval = d; return c }

// WithRecovery returns a copy with the recovery mode of Open:
// persistence.RecoverTruncateTail (the default: a torn last record is cut
// off and kept in a .broken file), RecoverStrict (any damage fails Open) or
// RecoverReadOnly (inspect: the state is rebuilt and served to readers,
// nothing is written, and calls, loads and snapshots fail with
// ErrReadOnly).
func (c Config) WithRecovery(m persistence.RecoveryMode) Config { c.recovery = m; return c }

// WithSegmentSize returns a copy with the log segment size (0: the log's
// default, 64 MiB).
func (c Config) WithSegmentSize(n int64) Config { c.segmentSize = n; return c }

// WithSnapshotEvery returns a copy that takes a snapshot automatically, in
// the background, after txns transactions or bytes bytes of row data
// committed since the last one, whichever comes first (0 disables that
// trigger; both 0, the default, disables automatic snapshots).
func (c Config) WithSnapshotEvery(txns int, bytes int64) Config {
	c.snapTxns, c.snapBytes = txns, bytes
	return c
}

// WithKeepSnapshots returns a copy keeping the newest n snapshots (>= 1,
// default 2). The log is kept from the oldest snapshot kept, so a damaged
// newest snapshot falls back to an older one and a longer replay.
func (c Config) WithKeepSnapshots(n int) Config { c.keepSnapshots = n; return c }

// WithRetainSegments returns a copy with the log's retention: keep at least
// n archived segments and delete older ones that a kept snapshot covers
// entirely. 0 (the default) never deletes a segment.
func (c Config) WithRetainSegments(n int) Config { c.retainSegments = n; return c }

// WithProgress returns a copy that reports Open's replay progress to fn,
// in bytes of log read (done, total). fn runs on the opening goroutine.
func (c Config) WithProgress(fn func(done, total int64)) Config { c.progress = fn; return c }

// DataDir returns the data directory ("" for an in-memory runtime).
func (c Config) DataDir() string { return c.dataDir }

// WithCallDeadline returns a copy with the wall-clock budget of one
// transaction (a reducer call with its nested calls; each subscriber
// transaction gets its own).
//
// The deadline (and the caller context's cancellation) is enforced by one
// watchdog goroutine per Runtime within about 2 ms, through an interrupt
// flag that the runtime compiles into every module it loads (see
// RATIONALE.md): a check at every loop iteration and function entry, which
// makes Go guests about 5–20% slower. A module exporting the reserved
// name __interstice_interrupt, or using WebAssembly features beyond 2.0,
// is refused with ErrInvalidWasm. _initialize and interstice_describe get
// the same budget. 0 disables deadlines: modules run as they are, a guest
// stuck in a loop blocks the runtime forever and a caller's context
// cancellation is ignored. Use 0 only with trusted modules.
func (c Config) WithCallDeadline(d time.Duration) Config { c.callDeadline = d; return c }

// WithMemoryLimitPages returns a copy with the most 64 KiB pages a module
// instance's memory may grow to (1..65536).
func (c Config) WithMemoryLimitPages(n uint32) Config { c.memoryPages = n; return c }

// WithMaxRowSize returns a copy with the largest encoded row, in bytes.
func (c Config) WithMaxRowSize(n int) Config { c.maxRowSize = n; return c }

// WithMaxArgsSize returns a copy with the largest encoded argument Row, in bytes.
func (c Config) WithMaxArgsSize(n int) Config { c.maxArgsSize = n; return c }

// WithMaxCascadeDepth returns a copy with the deepest subscription cascade:
// subscribers of a root call's events run at depth 1, their own
// subscribers at depth 2, and so on. 0 disables subscriptions.
func (c Config) WithMaxCascadeDepth(n int) Config { c.maxCascadeDepth = n; return c }

// WithMaxCascadeCalls returns a copy with the most subscriber transactions
// one root call may trigger in total (a bound on fan-out).
func (c Config) WithMaxCascadeCalls(n int) Config { c.maxCascadeCalls = n; return c }

// WithCompilationCacheDir returns a copy that keeps compiled modules in dir
// (shared on disk by every Runtime and process using it). The empty string
// (the default) selects DIR/cache for a durable runtime with data
// directory DIR, and an in-memory cache of the runtime's own otherwise.
// WithCompilationCache takes precedence.
func (c Config) WithCompilationCacheDir(dir string) Config { c.cacheDir = dir; return c }

// WithCompilationCache returns a copy whose runtimes use cache, which the
// caller made with NewCompilationCache, may share between runtimes (an
// in-memory cache is how runtimes of one process share compiled code), and
// closes after the last of them. nil restores the default.
func (c Config) WithCompilationCache(cache *CompilationCache) Config { c.cache = cache; return c }

// WithLogSink returns a copy that sends guest log output to sink (nil
// discards it).
func (c Config) WithLogSink(sink LogSink) Config { c.logSink = sink; return c }

// WithClock returns a copy whose transactions are stamped by clock instead
// of time.Now. Each transaction's timestamp is the clock's reading when it
// starts, in nanoseconds since the Unix epoch, made strictly greater than
// the last committed one; it is recorded in the log, it is what the
// guest's clocks read during the transaction, and replay restores it
// without reading any clock. A test that compares logs byte for byte
// gives every runtime the same clock (a counter, say). nil means
// time.Now.
func (c Config) WithClock(clock func() time.Time) Config { c.clock = clock; return c }

// now is the clock in nanoseconds since the Unix epoch (0 for an instant
// before it).
func (c Config) now() func() uint64 {
	clock := c.clock
	if clock == nil {
		clock = time.Now
	}
	return func() uint64 { return uint64(max(clock().UnixNano(), 0)) }
}

// CallDeadline returns the per-transaction deadline.
func (c Config) CallDeadline() time.Duration { return c.callDeadline }

// MemoryLimitPages returns the memory-page limit.
func (c Config) MemoryLimitPages() uint32 { return c.memoryPages }

// MaxRowSize returns the row size limit.
func (c Config) MaxRowSize() int { return c.maxRowSize }

// MaxArgsSize returns the argument size limit.
func (c Config) MaxArgsSize() int { return c.maxArgsSize }

// MaxCascadeDepth returns the cascade depth limit.
func (c Config) MaxCascadeDepth() int { return c.maxCascadeDepth }

func (c Config) validate() error {
	switch {
	case !c.valid:
		return errf(CodeBadArgument, "config: use core.NewConfig() to start a Config")
	case c.syncInterval < 0:
		return errf(CodeBadArgument, "config: sync interval %v is negative", c.syncInterval)
	case c.callDeadline < 0:
		return errf(CodeBadArgument, "config: call deadline %v is negative", c.callDeadline)
	case c.memoryPages == 0 || c.memoryPages > 65536:
		return errf(CodeBadArgument, "config: memory limit %d pages outside 1..65536", c.memoryPages)
	case c.maxRowSize < 16 || c.maxRowSize > 1<<30:
		return errf(CodeBadArgument, "config: max row size %d outside 16..1GiB", c.maxRowSize)
	case c.maxArgsSize < 16 || c.maxArgsSize > 1<<30:
		return errf(CodeBadArgument, "config: max args size %d outside 16..1GiB", c.maxArgsSize)
	case c.maxCascadeDepth < 0 || c.maxCascadeDepth > 1000:
		return errf(CodeBadArgument, "config: max cascade depth %d outside 0..1000", c.maxCascadeDepth)
	case c.maxCascadeCalls < 1:
		return errf(CodeBadArgument, "config: max cascade calls %d must be positive", c.maxCascadeCalls)
	case c.snapTxns < 0 || c.snapBytes < 0:
		return errf(CodeBadArgument, "config: negative snapshot policy (%d txns, %d bytes)", c.snapTxns, c.snapBytes)
	case c.keepSnapshots < 1:
		return errf(CodeBadArgument, "config: keep %d snapshots; at least 1", c.keepSnapshots)
	case c.retainSegments < 0:
		return errf(CodeBadArgument, "config: negative retained segments %d", c.retainSegments)
	case c.dataDir == "" && (c.snapTxns > 0 || c.snapBytes > 0):
		return errf(CodeBadArgument, "config: automatic snapshots need a data directory")
	case c.replicator != nil && c.dataDir == "":
		return errf(CodeBadArgument, "config: a replicated runtime needs a data directory")
	case c.replicator != nil && (c.snapTxns > 0 || c.snapBytes > 0):
		return errf(CodeBadArgument, "config: a replicated runtime takes no automatic snapshots (the replication's snapshots are its own)")
	}
	return nil
}
