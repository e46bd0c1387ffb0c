package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// A Target is a module instance the watchdog can stop: its interrupt flag
// (the global package interrupt compiles into an instrumented module) and
// the module, to tell whether it was closed after a trap.
type Target struct {
	Flag api.MutableGlobal
	Mod  api.Module
}

// Watchdog enforces call deadlines and caller-context cancellation for one
// runtime from one long-lived goroutine (core/RATIONALE.md, "Why one
// watchdog instead of per-call contexts?").
//
// The executor publishes each transaction with atomics (arm): a generation,
// its deadline and, when the caller's context can be cancelled, that
// context. While a call runs, the innermost running instance is published
// too (setRunning). The watchdog wakes every watchdogTick while calls are
// being made, and parks after watchdogIdle without one; arm wakes it. When
// the running transaction's deadline passed or its caller context is done,
// the watchdog sets the running instance's interrupt global (see package
// core/internal/interrupt), which makes the guest trap at its next poll
// (within 1024 loop iterations or function entries). mu makes "check and set" atomic with
// respect to disarm, so a kill never hits the next call: disarm clears the
// flag of every instance the watchdog set that did not trap.
type Watchdog struct {
	mu      sync.Mutex
	d       time.Duration
	gen     atomic.Uint64 // odd while a transaction runs
	caller  atomic.Pointer[ctxRef]
	running atomic.Pointer[Target]
	fired   atomic.Uint64 // generation killed by the watchdog
	reason  atomic.Uint32 // sys exit code of the kill
	flagged []*Target     // targets whose interrupt flag was set (mu)
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

// NewWatchdog starts the watchdog of a runtime whose calls get budget d.
func NewWatchdog(d time.Duration) *Watchdog {
	w := &Watchdog{d: d, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	w.parked.Store(true)
	go w.loop()
	return w
}

// Arm starts a transaction and returns its generation, to pass to disarm.
// It reads no clock: the watchdog starts the budget when it first sees the
// generation (at most one tick late), and a cancellable caller context is
// checked on every tick (which also covers its deadline).
func (w *Watchdog) Arm(ctx context.Context) uint64 {
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

// Disarm ends generation g and reports the exit code the watchdog killed
// it with (0 if it did not).
func (w *Watchdog) Disarm(g uint64) uint32 {
	w.mu.Lock()
	w.gen.Store(g + 1) // even: idle
	w.running.Store(nil)
	if len(w.flagged) > 0 {
		// An instance that trapped on its flag is closed and rebuilt on
		// its next call; one that returned before its next check is
		// consistent and keeps running, so its flag is cleared. Under mu,
		// after the generation moved on: no tick can set it again.
		for i, t := range w.flagged {
			if !t.Mod.IsClosed() {
				t.Flag.Set(0)
			}
			w.flagged[i] = nil
		}
		w.flagged = w.flagged[:0]
	}
	w.mu.Unlock()
	if w.caller.Load() != nil {
		w.caller.Store(nil)
	}
	if w.fired.Load() == g {
		return w.reason.Load()
	}
	return 0
}

// Expired reports whether the watchdog killed generation g (checked
// before a nested guest call starts, so a caller that survives its
// callee's kill cannot start another one).
func (w *Watchdog) Expired(g uint64) bool { return w.fired.Load() == g }

// SetRunning publishes the innermost running instance (nil: none).
func (w *Watchdog) SetRunning(t *Target) { w.running.Store(t) }

// Close stops the watchdog goroutine.
func (w *Watchdog) Close() {
	close(w.stop)
	<-w.stopped
}

func (w *Watchdog) loop() {
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
		case <-t.C:
			// Not the tick's own time: a tick read late would date a
			// transaction armed meanwhile before it started, and cut its
			// budget short.
			w.check(time.Now())
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
func (w *Watchdog) check(now time.Time) {
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
	if i := w.running.Load(); i != nil && i.Flag != nil {
		// Later ticks flag the next running frame (a caller continuing
		// after its callee was killed) until the transaction ends.
		//
		// This is a plain store into the instance's globals (an aligned
		// 64-bit word in wazero's module context, of which the guest's
		// i32 global.get reads the low half) racing with the guest's
		// loads on the executor goroutine. That is sound on the 64-bit
		// targets wazero compiles for (amd64, arm64): an aligned store is
		// single-copy atomic and cache coherence makes it visible to the
		// guest's next load, which the compiled code performs at every
		// poll (the instrumentation's $poll function, reached every 1024
		// loop iterations or function entries; wazero does not cache a
		// global across calls). No ordering with other memory is needed:
		// the flag carries no data, and everything the executor does
		// after the trap is ordered by mu and the atomics here. The guest
		// stops within 1024 checks of seeing the store: a best-effort
		// bound in time, a strict one in work. The instance was published
		// through running (an atomic), so i.Flag is safe to read here.
		i.Flag.Set(1)
		if n := len(w.flagged); n == 0 || w.flagged[n-1] != i {
			w.flagged = append(w.flagged, i)
		}
	}
}
