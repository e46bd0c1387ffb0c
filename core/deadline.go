package core

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// watchdog enforces call deadlines and caller-context cancellation for one
// Runtime from one long-lived goroutine (RATIONALE.md, "Why one watchdog
// instead of per-call contexts?").
//
// The executor publishes each transaction with atomics (arm): a generation,
// its deadline and, when the caller's context can be cancelled, that
// context. While a call runs, the innermost running instance is published
// too (setRunning). The watchdog wakes every watchdogTick while calls are
// being made, and parks after watchdogIdle without one; arm wakes it. When
// the running transaction's deadline passed or its caller context is done,
// the watchdog closes the running instance with an exit code, which makes
// the guest's next loop-header termination check (compiled in by
// wazero's WithCloseOnContextDone) unwind the call. mu makes "check and
// close" atomic with respect to disarm, so a kill never hits the next call.
type watchdog struct {
	mu      sync.Mutex
	d       time.Duration
	gen     atomic.Uint64 // odd while a transaction runs
	caller  atomic.Pointer[ctxRef]
	running atomic.Pointer[instance]
	fired   atomic.Uint64 // generation killed by the watchdog
	reason  atomic.Uint32 // sys exit code of the kill
	parked  atomic.Bool
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}

	// Owned by the watchdog goroutine.
	seenGen  uint64    // the running generation last seen
	seenAt   time.Time // when it was first seen
	idleTick int       // ticks without a new generation
}

type ctxRef struct{ ctx context.Context }

const (
	watchdogTick = 2 * time.Millisecond
	watchdogIdle = 100 // ticks without a call before the watchdog parks
)

func newWatchdog(d time.Duration) *watchdog {
	w := &watchdog{d: d, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	w.parked.Store(true)
	go w.loop()
	return w
}

// arm starts a transaction and returns its generation, to pass to disarm.
// It reads no clock: the watchdog starts the budget when it first sees the
// generation (at most one tick late), and a cancellable caller context is
// checked on every tick (which also covers its deadline).
func (w *watchdog) arm(ctx context.Context) uint64 {
	if ctx.Done() != nil {
		w.caller.Store(&ctxRef{ctx})
	}
	g := w.gen.Add(1) // odd: running
	if w.parked.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return g
}

// disarm ends generation g and reports the exit code the watchdog killed
// it with (0 if it did not).
func (w *watchdog) disarm(g uint64) uint32 {
	w.mu.Lock()
	w.gen.Store(g + 1) // even: idle
	w.running.Store(nil)
	w.mu.Unlock()
	if w.caller.Load() != nil {
		w.caller.Store(nil)
	}
	if w.fired.Load() == g {
		return w.reason.Load()
	}
	return 0
}

// expired reports whether the watchdog killed generation g (checked
// before a nested guest call starts, so a caller that survives its
// callee's kill cannot start another one).
func (w *watchdog) expired(g uint64) bool { return w.fired.Load() == g }

func (w *watchdog) setRunning(i *instance) { w.running.Store(i) }

func (w *watchdog) close() {
	close(w.stop)
	<-w.stopped
}

func (w *watchdog) loop() {
	defer close(w.stopped)
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	for {
		if w.parked.Load() {
			t.Stop()
			select {
			case <-w.stop:
				return
			case <-w.wake:
			}
			w.parked.Store(false)
			w.idleTick = 0
			t.Reset(watchdogTick)
			w.check(time.Now())
		}
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.check(now)
		}
		if w.idleTick >= watchdogIdle {
			w.parked.Store(true)
			// A call armed before the store saw parked == false and sent
			// no wake-up: look again before sleeping.
			if g := w.gen.Load(); g&1 == 1 || g != w.seenGen {
				w.parked.Store(false)
				w.idleTick = 0
			}
		}
	}
}

// check kills the running transaction if its budget is spent.
func (w *watchdog) check(now time.Time) {
	g := w.gen.Load()
	if g != w.seenGen {
		w.seenGen, w.seenAt, w.idleTick = g, now, 0
	} else {
		w.idleTick++
	}
	if g&1 == 0 {
		return
	}
	var code uint32
	if now.Sub(w.seenAt) > w.d {
		code = sys.ExitCodeDeadlineExceeded
	} else if c := w.caller.Load(); c != nil {
		switch c.ctx.Err() {
		case nil:
		case context.Canceled:
			code = sys.ExitCodeContextCanceled
		default:
			code = sys.ExitCodeDeadlineExceeded
		}
	}
	if code == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gen.Load() != g {
		return // finished meanwhile
	}
	if w.fired.Load() != g {
		w.reason.Store(code)
		w.fired.Store(g)
	}
	if i := w.running.Load(); i != nil && i.mod != nil {
		// Later ticks close the next running frame (a caller continuing
		// after its callee was killed) until the transaction ends.
		_ = i.mod.CloseWithExitCode(context.Background(), code)
	}
}

// skipCallWatcher turns off wazero's per-call watcher goroutine for the
// compiled module behind mod while keeping the termination checks compiled
// into its loops. wazero 1.12 starts that goroutine on every top-level call
// of a module compiled with WithCloseOnContextDone, whatever the context
// (call_engine.go: `if ensureTermination { m.CloseModuleOnCanceledOrTimeout(ctx) }`),
// so a Done-less context alone does not avoid it. The flag lives in the
// engine's compiledModule, reached by reflection; if wazero's layout
// changes the lookup fails, the function returns false and calls keep the
// (slower but correct) per-call goroutine. TestWatchdogFastPath fails then.
func skipCallWatcher(mod api.Module) bool {
	defer func() { _ = recover() }()
	v := reflect.ValueOf(mod)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	eng := v.Elem().FieldByName("Engine")
	if !eng.IsValid() || eng.Kind() != reflect.Interface || eng.IsNil() {
		return false
	}
	me := eng.Elem()
	if me.Kind() != reflect.Pointer || me.IsNil() {
		return false
	}
	parent := me.Elem().FieldByName("parent")
	if !parent.IsValid() || parent.Kind() != reflect.Pointer || parent.IsNil() {
		return false
	}
	flag := parent.Elem().FieldByName("ensureTermination")
	if !flag.IsValid() || flag.Kind() != reflect.Bool || !flag.CanAddr() {
		return false
	}
	p := (*bool)(unsafe.Pointer(flag.UnsafeAddr()))
	if *p {
		*p = false
	}
	return true
}
