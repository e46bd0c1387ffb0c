package core

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// A reducer call runs in one of two ways (core/RATIONALE.md, "Why an
// executor goroutine for asynchronous calls, and not for Call?"):
//
//   - Call runs it on the caller's goroutine: execute under execMu, then
//     wait for durability (sharing the log's write and fdatasync with the
//     other waiters), then deliver its host callbacks;
//   - CallAsync queues it for the executor goroutine, which runs every
//     queued call back to back under one execMu hold; the flusher
//     goroutine (locked to one OS thread: the completion goroutine) waits
//     for their records to be durable, then delivers each call's host
//     callbacks and runs its done function. No caller's thread waits.
//
// Host callbacks (Subscribe hooks and guest log lines) are collected while
// a call runs and delivered after its records are durable, in execution
// order across all calls of the runtime (deliver).

// callReq is one reducer call: its arguments, its outcome and the host
// callbacks it collected.
type callReq struct {
	ctx             context.Context
	module, reducer string
	args            []byte
	typed           *reducer // args were encoded for this reducer (CallJSON): no check if it still runs
	res             CallResult
	err             error
	lsn             uint64 // last record to wait for (0: none)
	out             []delivery
	ticket          uint64                  // delivery order, when out is not empty
	lost            bool                    // the records were not made durable: no hook runs
	done            func(CallResult, error) // CallAsync's
}

var reqPool = sync.Pool{New: func() any { return new(callReq) }}

func getReq(ctx context.Context, module, reducer string, args []byte, typed *reducer) *callReq {
	q := reqPool.Get().(*callReq)
	q.ctx, q.module, q.reducer, q.args, q.typed = ctx, module, reducer, args, typed
	return q
}

func putReq(q *callReq) {
	clear(q.out)
	*q = callReq{out: q.out[:0]}
	reqPool.Put(q)
}

// delivery is one host callback a call owes its caller: a hook with its
// event (rows copied), or a guest log line.
type delivery struct {
	hook   *hook // nil for a log line
	ev     Event
	module string
	level  LogLevel
	msg    string
}

// executor queues asynchronous calls for the executor goroutine, which
// passes each executed batch to the flusher goroutine, which completes it.
type executor struct {
	mu      sync.Mutex
	queue   []*callReq
	stopped bool
	wake    chan struct{} // cap 1: the queue became non-empty, or stop
	batches chan []*callReq
	exited  chan struct{} // closed when the flusher (the completion goroutine) returned
}

func (r *Runtime) startExecutor() {
	e := &executor{wake: make(chan struct{}, 1), batches: make(chan []*callReq, 16), exited: make(chan struct{})}
	r.exec = e
	go r.executeLoop(e)
	go r.flushLoop(e)
}

// stopExecutor lets the executor run what is queued, waits until every
// queued call completed, and refuses calls queued after.
func (r *Runtime) stopExecutor() {
	e := r.exec
	if e == nil {
		return
	}
	e.mu.Lock()
	was := e.stopped
	e.stopped = true
	e.mu.Unlock()
	if !was {
		e.signal()
	}
	<-e.exited
}

func (e *executor) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// runCall is Call after the argument size check; typed, if set, is the
// reducer args were encoded for.
func (r *Runtime) runCall(ctx context.Context, module, reducer string, args []byte, typed *reducer) (CallResult, error) {
	q := getReq(ctx, module, reducer, args, typed)
	defer putReq(q)
	r.execMu.Lock()
	r.execute1(q)
	r.execMu.Unlock()
	// Group commit: wait for durability outside the executor lock, so the
	// next callers run meanwhile and share the fdatasync.
	if err := r.waitDurable(q.lsn); err != nil {
		q.res, q.err, q.lost = CallResult{}, err, true
	}
	r.deliver(q)
	return q.res, q.err
}

// CallAsync is Call without waiting: it queues the call and returns at
// once; done runs exactly once with the outcome Call would have returned,
// after the call's host callbacks (Subscribe hooks, guest log lines), on
// the runtime's completion goroutine, which is locked to one OS thread
// for its life, so a call's callbacks and its done run on one thread
// with no other callback of the runtime between them. done and the
// callbacks of asynchronous calls run one at a time, in execution order;
// they must not block for long (later completions, and the log write of
// the calls executed meanwhile, wait) and must not call
// Call, CallAsync, LoadModule or Close (that deadlocks). A panic in done
// or in a callback of an asynchronous call is not recovered: as in any
// goroutine, it ends the program.
//
// Queued calls run one after another under one execMu hold and share the
// log's fdatasyncs, so many calls in flight cost no thread each. An error
// returned means the call was not queued and done is not called:
// CodeLimit for arguments over the limit, CodeClosed after Close (Close
// waits for the calls queued before it). In a runtime whose log does not
// sync every record (in memory, SyncInterval, SyncNever) CallAsync runs
// the call at once, as Call, and calls done before it returns.
func (r *Runtime) CallAsync(ctx context.Context, module, reducer string, args []byte, done func(CallResult, error)) error {
	return r.callAsync(ctx, module, reducer, args, nil, done)
}

// callAsync is CallAsync; typed, if set, is the reducer args were encoded
// for.
func (r *Runtime) callAsync(ctx context.Context, module, reducer string, args []byte, typed *reducer, done func(CallResult, error)) error {
	if err := r.checkArgsSize(module, reducer, args); err != nil {
		return err
	}
	e := r.exec
	if e == nil {
		if r.closed.Load() {
			return errClosed
		}
		done(r.runCall(ctx, module, reducer, args, typed))
		return nil
	}
	q := getReq(ctx, module, reducer, args, typed)
	q.done = done
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		putReq(q)
		return errClosed
	}
	e.queue = append(e.queue, q)
	first := len(e.queue) == 1
	e.mu.Unlock()
	if first {
		e.signal()
	}
	return nil
}

// execute1 runs q's call (execMu held) and records what it must wait for
// and deliver.
func (r *Runtime) execute1(q *callReq) {
	if err := r.usable(); err != nil {
		q.err = err
		return
	}
	red, err := r.lookupReducer(q.module, q.reducer)
	if err != nil {
		q.err = err
		return
	}
	r.out = &q.out
	defer func() {
		// A panic here is a bug in the runtime, and the transaction state
		// it left is unknown: refuse every later call instead of crashing
		// the executor goroutine (and the process) or deadlocking.
		if p := recover(); p != nil {
			e := &Error{Code: CodeInternal, Module: q.module, Reducer: q.reducer, Msg: fmt.Sprintf("internal error (panic: %v) during the call; the runtime refuses further calls, reopen it", p)}
			r.poisoned.CompareAndSwap(nil, e)
			r.out, q.res, q.err = nil, CallResult{}, e
		}
	}()
	// The arguments are checked by execute, under the call deadline,
	// unless they were encoded for this very reducer (CallJSON).
	q.res, q.err = r.callLocked(q.ctx, red, q.args, red != q.typed)
	// A failed call committed nothing that survives (its cascade's batch
	// was not queued): no hook runs; its guest log lines are delivered.
	q.lost = q.err != nil
	r.out = nil
	q.lsn = r.takeWait()
	if len(q.out) > 0 {
		q.ticket = r.nextTicket
		r.nextTicket++
	}
}

func (r *Runtime) executeLoop(e *executor) {
	for {
		<-e.wake
		e.mu.Lock()
		batch := e.queue
		e.queue = nil
		stopped := e.stopped
		e.mu.Unlock()
		if len(batch) > 0 {
			r.execMu.Lock()
			for _, q := range batch {
				r.execute1(q)
			}
			r.execMu.Unlock()
			e.batches <- batch
		}
		if stopped {
			// Calls queued after stopped was read were refused by CallAsync.
			close(e.batches)
			return
		}
	}
}

// flushLoop waits for each executed batch's records to be durable, then
// delivers each call's host callbacks and runs its done, on one OS thread
// (CallAsync): the completion goroutine. It is the flusher too, so that
// the thread that returns from the fdatasync runs the completions at once,
// without waking another (core/RATIONALE.md).
func (r *Runtime) flushLoop(e *executor) {
	runtime.LockOSThread()
	defer close(e.exited)
	for batch := range e.batches {
		var last uint64
		for _, q := range batch {
			last = max(last, q.lsn)
		}
		failed := r.waitLogNow(last) != nil
		// After a failure each record's own outcome is what its log wait
		// says (earlier ones may be acknowledged).
		for _, q := range batch {
			if failed {
				if err := r.waitLog(q.lsn); err != nil {
					q.res, q.err, q.lost = CallResult{}, err, true
				}
			}
		}
		if !failed && last > 0 {
			r.snapshotIfDue()
		}
		for _, q := range batch {
			r.complete(q)
		}
	}
}

func (r *Runtime) complete(q *callReq) {
	defer putReq(q)
	r.deliver(q)
	q.done(q.res, q.err)
}

// collectHook records a hook's event for the running call (execMu held),
// or fires it at once outside a call.
func (r *Runtime) collectHook(h *hook, ev Event) {
	if r.out == nil {
		h.fn(ev)
		return
	}
	ev.Old, ev.New = cloneBytes(ev.Old), cloneBytes(ev.New)
	*r.out = append(*r.out, delivery{hook: h, ev: ev})
}

// guestSink is where an instance's stdout and stderr lines go: emitLog,
// or nil without a log sink.
func (r *Runtime) guestSink() LogSink {
	if r.cfg.logSink == nil {
		return nil
	}
	return r.emitLog
}

// emitLog sends a guest log line to the log sink: collected for the
// running call's caller, or at once outside a call (module loads).
func (r *Runtime) emitLog(module string, level LogLevel, msg string) {
	if r.out == nil {
		r.cfg.logSink(module, level, msg)
		return
	}
	*r.out = append(*r.out, delivery{module: module, level: level, msg: msg})
}

// deliver runs q's host callbacks on the caller's goroutine, after the
// callbacks of every call executed before it (ticket order), so that
// callbacks of one runtime never run at once and events arrive in commit
// order. Hooks see only durable events: after a failed log wait
// (CodePoisoned, outcome unknown) only the guest's log lines are
// delivered.
func (r *Runtime) deliver(q *callReq) {
	if len(q.out) == 0 {
		return
	}
	r.turnMu.Lock()
	for r.turn != q.ticket {
		r.turnCond.Wait()
	}
	r.turnMu.Unlock()
	defer func() {
		r.turnMu.Lock()
		r.turn++
		r.turnCond.Broadcast()
		r.turnMu.Unlock()
	}()
	for i := range q.out {
		d := &q.out[i]
		switch {
		case d.hook == nil:
			r.cfg.logSink(d.module, d.level, d.msg)
		case !q.lost && !d.hook.off.Load():
			d.hook.fn(d.ev)
		}
	}
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
