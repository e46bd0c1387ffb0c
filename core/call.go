package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"

	"github.com/interstice/interstice/core/internal/engine"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// CallResult reports a committed reducer call.
type CallResult struct {
	// LSN and Timestamp are those of the root transaction.
	LSN       uint64
	Timestamp uint64
	// Mutations is the number of row changes the root transaction made.
	Mutations int
	// Cascade lists the subscriber transactions that the call triggered,
	// in the order they ran (or were refused).
	Cascade []CascadeCall
	// CascadeErr is the first error of a subscriber transaction, or the
	// cascade limit error; the root transaction is committed regardless.
	CascadeErr error
}

// AppendJSON appends r as one JSON object, the form the C ABI's
// interstice_call returns in out_result and the CLI's call --json prints:
//
//	{"lsn":N,"timestamp":N,"mutations":N,"cascade":[{"module":"..",
//	 "reducer":"..","depth":N,"lsn":N,"error":null|".."}],
//	 "cascade_error":null|".."}
//
// An error is written as ErrorText writes it.
func (r CallResult) AppendJSON(b []byte) []byte {
	b = append(b, `{"lsn":`...)
	b = strconv.AppendUint(b, r.LSN, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, r.Timestamp, 10)
	b = append(b, `,"mutations":`...)
	b = strconv.AppendInt(b, int64(r.Mutations), 10)
	b = append(b, `,"cascade":[`...)
	for i, c := range r.Cascade {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"module":`...)
		b = row.AppendJSON(b, c.Module)
		b = append(b, `,"reducer":`...)
		b = row.AppendJSON(b, c.Reducer)
		b = append(b, `,"depth":`...)
		b = strconv.AppendInt(b, int64(c.Depth), 10)
		b = append(b, `,"lsn":`...)
		b = strconv.AppendUint(b, c.LSN, 10)
		b = append(b, `,"error":`...)
		b = appendErrJSON(b, c.Err)
		b = append(b, '}')
	}
	b = append(b, `],"cascade_error":`...)
	b = appendErrJSON(b, r.CascadeErr)
	return append(b, '}')
}

// MarshalJSON is AppendJSON for encoding/json.
func (r CallResult) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

func appendErrJSON(b []byte, err error) []byte {
	if err == nil {
		return append(b, "null"...)
	}
	return row.AppendJSON(b, ErrorText(err))
}

// ErrorText is err for people: a core error as its code's name and its
// Text (`reducer failed: no account "zed" (module bank, reducer
// deposit)`), without Go's "core: " prefix; any other error as it is.
func ErrorText(err error) string {
	if e, ok := err.(*Error); ok {
		return strings.TrimPrefix(e.Error(), "core: ")
	}
	return err.Error()
}

// CascadeCall is one subscriber transaction run after a commit.
type CascadeCall struct {
	Module, Reducer string
	Depth           int    // 1 for subscribers of the root call's events
	LSN             uint64 // 0 when it did not commit or changed nothing (no record)
	Err             error  // nil when committed
}

// pending is a queued subscriber call.
type pending struct {
	red      *reducer
	old, new []byte
	depth    int
}

// Call runs a reducer as one atomic transaction with args, an encoded Row
// holding one value per declared parameter, then runs the subscribers of
// the events it committed (each its own transaction, in FIFO order),
// waits until their records are durable (under the sync policy) and fires
// host callbacks (Subscribe hooks, guest log lines), all before it
// returns. The call and its subscriber transactions commit as one unit:
// their records are one batch in the log, durable together or not at all
// (docs/ABI.md, "A cascade commits as one unit").
//
// On failure nothing is applied or committed, except after CodePoisoned:
// the log could not make the record durable, so the outcome of the call
// is unknown (it may be in the log after a reopen; docs/RECOVERY.md, "A
// full disk"). The error is an *Error naming the module and reducer, with
// the guest's message (from fail or abort) in GuestMsg and, when the
// failure followed a failed host call, that call's error as its cause (so
// errors.Is(err, ErrLimit) holds for a guest that gave up after a row was
// too large). Arguments that do not fit the parameters are CodeType (or
// CodeBadArgument for a malformed buffer), with a message that starts
// with the reducer's signature: "add(name string, by i64): 1 argument
// given, 2 expected".
func (r *Runtime) Call(ctx context.Context, module, reducerName string, args []byte) (CallResult, error) {
	if err := r.checkArgsSize(module, reducerName, args); err != nil {
		return CallResult{}, err
	}
	return r.runCall(ctx, module, reducerName, args, nil)
}

// checkArgsSize refuses arguments over the configured limit (CodeLimit).
func (r *Runtime) checkArgsSize(module, reducer string, args []byte) error {
	if len(args) > r.cfg.maxArgsSize {
		return &Error{Code: CodeLimit, Module: module, Reducer: reducer, Msg: fmt.Sprintf("arguments of %d bytes exceed the limit of %d", len(args), r.cfg.maxArgsSize)}
	}
	return nil
}

// CallJSON is Call with arguments in JSON: an array (by position) or an
// object (by parameter name), converted by the reducer's declared types.
func (r *Runtime) CallJSON(ctx context.Context, module, reducerName string, jsonArgs []byte) (CallResult, error) {
	args, red, err := r.argsFromJSON(module, reducerName, jsonArgs)
	if err != nil {
		return CallResult{}, err
	}
	if err := r.checkArgsSize(module, reducerName, args); err != nil {
		return CallResult{}, err
	}
	return r.runCall(ctx, module, reducerName, args, red)
}

// CallJSONAsync is CallAsync with arguments in JSON, converted as CallJSON
// does before the call is queued: arguments that do not fit are returned
// as the error, and done is not called.
func (r *Runtime) CallJSONAsync(ctx context.Context, module, reducerName string, jsonArgs []byte, done func(CallResult, error)) error {
	args, red, err := r.argsFromJSON(module, reducerName, jsonArgs)
	if err != nil {
		return err
	}
	return r.callAsync(ctx, module, reducerName, args, red, done)
}

// argsFromJSON converts JSON arguments to the Row the reducer takes, and
// returns the reducer they were typed by. The call looks the reducer up
// again when it runs (an upgrade may replace it meanwhile) and checks the
// Row only if it is another reducer by then (callReq.typed).
func (r *Runtime) argsFromJSON(module, reducerName string, jsonArgs []byte) ([]byte, *reducer, error) {
	r.stateMu.RLock()
	red, err := r.lookupReducer(module, reducerName)
	r.stateMu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	vals, err := row.ParseJSON(jsonArgs, red.names, red.types)
	if err == nil {
		var args []byte
		if args, err = row.Encode(vals); err == nil {
			return args, red, nil
		}
	}
	return nil, nil, argsErr(red, err)
}

// argsErr is the error of arguments that do not fit red's parameters. Its
// message starts with red's signature and says which parameter is wrong,
// e.g. "deposit(account string, amount i64): 1 argument given, 2
// expected" or `add(name string, by i64): missing argument "by" (i64)`.
func argsErr(red *reducer, err error) error {
	e := &Error{Code: CodeType, Module: red.mod.info.Name, Reducer: red.name, Err: err, full: true}
	e.Column = row.Column(err, red.names)
	if errors.Is(err, row.ErrMalformed) {
		e.Code = CodeBadArgument
	}
	var b strings.Builder
	b.WriteString(red.name)
	b.WriteByte('(')
	for i, t := range red.types {
		if i > 0 {
			b.WriteString(", ")
		}
		if i < len(red.names) {
			b.WriteString(red.names[i])
			b.WriteByte(' ')
		}
		b.WriteString(t.String())
	}
	b.WriteString("): ")
	var ce *row.CountError
	var me *row.MissingError
	var ve *row.ValueError
	switch {
	case errors.As(err, &ce):
		noun := "arguments"
		if ce.Given == 1 {
			noun = "argument"
		}
		fmt.Fprintf(&b, "%d %s given, %d expected", ce.Given, noun, ce.Want)
	case errors.As(err, &me):
		fmt.Fprintf(&b, "missing argument %q (%s)", me.Name, me.Type)
		e.Column = me.Name
	case errors.As(err, &ve):
		name := ve.Name
		if name == "" && ve.Index < len(red.names) {
			name = red.names[ve.Index]
		}
		if name == "" {
			name = fmt.Sprintf("argument %d", ve.Index)
		}
		e.Column = name
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(rowText(ve.Err))
	default:
		b.WriteString(rowText(err))
	}
	e.Msg = b.String()
	return e
}

// rowText is the text of a row codec error without the "row: type
// mismatch: " (the code says it) or "row: " prefix.
func rowText(err error) string {
	s := err.Error()
	if t, ok := strings.CutPrefix(s, row.ErrType.Error()+": "); ok {
		return t
	}
	return strings.TrimPrefix(s, "row: ")
}

// lookupReducer finds a reducer; the caller holds execMu or stateMu.
func (r *Runtime) lookupReducer(module, name string) (*reducer, error) {
	if r.closed.Load() {
		return nil, errClosed
	}
	m := r.modules[module]
	if m == nil {
		return nil, &Error{Code: CodeNotFound, Module: module, Msg: "no such module"}
	}
	red := m.reducerByName[name]
	if red == nil {
		return nil, &Error{Code: CodeNotFound, Module: module, Reducer: name, Msg: "no such reducer"}
	}
	return red, nil
}

// callLocked runs red with args and its cascade (execMu held); check says
// whether args must be checked against red's parameters first.
//
// The call and its cascade commit as one unit (committer.begin/end): one
// batch in the log, durable together or not at all.
func (r *Runtime) callLocked(ctx context.Context, red *reducer, args []byte, check bool) (CallResult, error) {
	var res CallResult
	r.commit.begin()
	lsn, n, err := r.runTx(ctx, red, args, 0, check)
	if err != nil {
		r.commit.end() // holds nothing: the root committed nothing
		return res, err
	}
	if lsn == 0 { // changed nothing: the state it ran against
		lsn, _ = r.commit.last()
	}
	res.LSN, res.Timestamp, res.Mutations = lsn, r.lastTS, n
	r.runCascade(ctx, &res)
	if err := r.commit.end(); err != nil {
		// Applied in memory but not in the log: the runtime is poisoned
		// and the caller has nothing to wait for.
		r.waitLSN = 0
		return CallResult{}, &Error{Code: logCode(err), Module: red.mod.info.Name, Reducer: red.name, Msg: "commit", Err: err}
	}
	return res, nil
}

// runTx runs one transaction: red with args (checked first when check is
// set), then commit, host callbacks and queueing of subscribers (at
// depth+1). It returns the LSN and the number of mutations; LSN 0 when
// the transaction changed nothing and so wrote no record.
func (r *Runtime) runTx(ctx context.Context, red *reducer, args []byte, depth int, check bool) (uint64, int, error) {
	x := r.tx
	x.lsn, x.ts = r.commit.next()
	// A root call's arguments come from the caller and are checked here,
	// under its deadline; a subscriber's are built by the runtime.
	if err := r.executeArgs(ctx, red, args, x, check); err != nil {
		x.reset()
		return 0, 0, err
	}
	if len(x.Muts) == 0 {
		// A transaction that changed nothing writes no record: no LSN, no
		// fdatasync, no event (docs/ABI.md, "Calls that change nothing").
		// Its caller still waits until the state it ran against is
		// durable, which costs nothing once it is and joins the group
		// commit in flight otherwise: a call never returns on a write a
		// crash could take back.
		x.reset()
		last, _ := r.commit.last()
		r.waitLSN = max(r.waitLSN, last)
		return 0, 0, nil
	}
	rec := &r.rec
	*rec = txn{LSN: x.lsn, Timestamp: x.ts, Kind: fb.TxKindReducer, Module: red.mod.info.Name, Reducer: red.name, Args: args, Mutations: x.Muts}
	if err := r.commit.commit(rec); err != nil {
		x.reset()
		return 0, 0, &Error{Code: logCode(err), Module: red.mod.info.Name, Reducer: red.name, Msg: "commit", Err: err}
	}
	r.lastTS = x.ts
	if x.Touched() {
		r.stateMu.Lock()
		x.Apply()
		r.stateMu.Unlock()
	}
	n := len(x.Muts)
	for i := range x.Muts {
		mu := &x.Muts[i]
		t := r.tableOf(mu)
		if t == nil {
			continue
		}
		r.fireHooks(t, mu, x.lsn, x.ts)
		if depth < r.cfg.maxCascadeDepth+1 {
			for _, sub := range t.subs[mu.Op] {
				r.queue = append(r.queue, pending{red: sub, old: mu.OldRow, new: mu.Row, depth: depth + 1})
			}
		}
	}
	*rec = txn{}
	x.reset()
	return x.lsn, n, nil
}

// execute runs red with args in transaction x under the call deadline and
// returns its error (x keeps the mutations; the caller commits or resets).
func (r *Runtime) execute(ctx context.Context, red *reducer, args []byte, x *tx) error {
	return r.executeArgs(ctx, red, args, x, false)
}

// executeArgs is execute, checking args against red's parameter types
// first when check is set. The check is host work of the call, so it runs
// under the call deadline like the guest (and like every host call the
// guest makes): a check that outlasts the deadline fails the call with
// CodeTimeout.
func (r *Runtime) executeArgs(ctx context.Context, red *reducer, args []byte, x *tx, check bool) error {
	var err error
	var fired uint32
	if r.wd != nil {
		r.wdGen = r.wd.Arm(ctx)
		err = r.checkInvoke(callCtx, red, args, x, check)
		fired = r.wd.Disarm(r.wdGen)
	} else {
		err = r.checkInvoke(ctx, red, args, x, check)
	}
	if err == nil && x.doomed != nil {
		err = x.doomed
	}
	if err == nil && fired != 0 {
		// Killed after the guest's last loop check: the work is done but
		// the budget is not; roll back as a timeout all the same.
		err = &Error{Code: CodeTimeout, Module: red.mod.info.Name, Reducer: red.name}
	}
	if err != nil && fired != 0 {
		if CodeOf(err) != CodeTimeout {
			err = &Error{Code: CodeTimeout, Module: red.mod.info.Name, Reducer: red.name, Err: err}
		}
		if e, ok := err.(*Error); ok {
			e.Msg = timeoutMsg(fired, r.cfg.callDeadline)
		}
	}
	return err
}

// checkInvoke is invoke, after checking args when check is set.
func (r *Runtime) checkInvoke(ctx context.Context, red *reducer, args []byte, x *tx, check bool) error {
	if check {
		if err := row.Check(args, red.types); err != nil {
			return argsErr(red, err)
		}
	}
	return r.invoke(ctx, red, args, x)
}

// tableOf finds the table of a mutation (by module then name).
func (r *Runtime) tableOf(mu *mutation) *table {
	m := r.modules[mu.Module]
	if m == nil {
		return nil
	}
	return m.tableByName[mu.Table]
}

// runCascade runs the queued subscriber calls in FIFO order.
func (r *Runtime) runCascade(ctx context.Context, res *CallResult) {
	calls := 0
	for i := 0; i < len(r.queue); i++ {
		p := r.queue[i]
		cc := CascadeCall{Module: p.red.mod.info.Name, Reducer: p.red.name, Depth: p.depth}
		switch {
		case p.depth > r.cfg.maxCascadeDepth:
			cc.Err = &Error{Code: CodeLimit, Module: cc.Module, Reducer: cc.Reducer, Msg: fmt.Sprintf("subscription cascade depth %d exceeds the limit of %d; subscriber not run", p.depth, r.cfg.maxCascadeDepth)}
		case calls >= r.cfg.maxCascadeCalls:
			cc.Err = &Error{Code: CodeLimit, Module: cc.Module, Reducer: cc.Reducer, Msg: fmt.Sprintf("more than %d subscriber transactions for one call; subscriber not run", r.cfg.maxCascadeCalls)}
		default:
			calls++
			args, err := row.Encode([]any{bytesOrNil(p.old), bytesOrNil(p.new)})
			if err != nil {
				cc.Err = &Error{Code: CodeInternal, Module: cc.Module, Reducer: cc.Reducer, Err: err}
				break
			}
			cc.LSN, _, cc.Err = r.runTx(ctx, p.red, args, p.depth, false) // encoded here for the subscriber signature
		}
		if cc.Err != nil && res.CascadeErr == nil {
			res.CascadeErr = cc.Err
		}
		res.Cascade = append(res.Cascade, cc)
		if cc.Err != nil && p.depth > r.cfg.maxCascadeDepth {
			// Do not list every refused call of a runaway cascade.
			r.dropDeeper(i + 1)
		}
	}
	clear(r.queue)
	r.queue = r.queue[:0]
}

// dropDeeper removes queued calls beyond the depth limit after index i.
func (r *Runtime) dropDeeper(i int) {
	q := r.queue[:i]
	for _, p := range r.queue[i:] {
		if p.depth <= r.cfg.maxCascadeDepth {
			q = append(q, p)
		}
	}
	r.queue = q
}

func bytesOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// callCtx is the context every guest call runs under when the watchdog
// enforces deadlines (wazero ignores contexts: modules are compiled
// without its termination checks; the watchdog uses the interrupt flag).
var callCtx = context.Background()

func timeoutMsg(code uint32, d time.Duration) string {
	if code == sys.ExitCodeContextCanceled {
		return "call cancelled by its context"
	}
	return fmt.Sprintf("call exceeded its deadline (%v or the context's, if sooner)", d)
}

// invoke runs one reducer frame inside transaction x.
func (r *Runtime) invoke(ctx context.Context, red *reducer, args []byte, x *tx) error {
	m := red.mod
	if m.onStack {
		return &Error{Code: CodeCycle, Module: m.info.Name, Reducer: red.name, Msg: "module is already on the call stack"}
	}
	if m.inst == nil || m.inst.mod.IsClosed() {
		if err := r.ensureCompiled(m); err != nil {
			return err
		}
		inst, err := r.instantiate(m)
		if err != nil {
			return err
		}
		m.inst = inst
	}
	inst := m.inst
	inst.enter(x.lsn, x.ts)
	f := r.pushFrame(m, inst, red, x)
	m.onStack = true
	if r.wd != nil {
		if r.wd.Expired(r.wdGen) {
			m.onStack = false
			r.popFrame(f)
			return &Error{Code: CodeTimeout, Module: m.info.Name, Reducer: red.name, Msg: fmt.Sprintf("call exceeded its deadline (%v) or was cancelled", r.cfg.callDeadline)}
		}
		var prev *engine.Target
		if f.prev != nil {
			prev = &f.prev.inst.target
		}
		r.wd.SetRunning(&inst.target)
		defer r.wd.SetRunning(prev)
	}
	defer func() {
		m.onStack = false
		r.popFrame(f)
	}()
	ptr, err := r.argBuffer(ctx, inst, uint32(len(args)))
	if err == nil {
		inst.mem.Write(ptr, args)
		s := inst.stack[:]
		s[0], s[1], s[2] = uint64(red.idx), uint64(ptr), uint64(len(args))
		r.guestEntries.Add(1)
		err = inst.fnCall.CallWithStack(ctx, s)
		if err == nil {
			if st := int32(uint32(s[0])); st != 0 {
				e := &Error{Code: CodeReducerFailed, Module: m.info.Name, Reducer: red.name, GuestMsg: f.failMsg}
				if f.failMsg == "" {
					e.Msg = fmt.Sprintf("returned status %d with no message", st)
				}
				if f.hostErr != nil {
					e.Err = f.hostErr
				}
				return e
			}
			return nil
		}
	}
	// A trap, an abort or a kill: this instance is discarded.
	note := inst.stderrNote()
	inst.mod.Close(context.Background())
	m.inst = nil
	// A kill by the watchdog is an `unreachable` trap at an interrupt
	// check; execute reports it as CodeTimeout (the watchdog's record
	// decides, not the trap).
	e := &Error{Code: CodeTrap, Module: m.info.Name, Reducer: red.name, Msg: firstLine(err) + note}
	if p := inst.panicLine(); p != "" {
		// The panic line is the guest's message; the rest of its stderr
		// went to the log sink.
		e.GuestMsg, e.Msg = p, firstLine(err)
	}
	switch {
	case f.aborted:
		e.Code, e.Msg, e.GuestMsg = CodeReducerFailed, "", f.failMsg
	case r.nearMemoryLimit(inst):
		e.Code = CodeLimit
		e.Msg = fmt.Sprintf("memory limit of %d pages reached: %s", r.cfg.memoryPages, e.Msg)
	}
	if f.hostErr != nil && e.Code != CodeTimeout {
		e.Err = f.hostErr
	}
	return e
}

// nearMemoryLimit reports whether the trapped instance's memory refused
// to grow past the limit during this call (engine.Memory): the
// trap followed a failed memory.grow. Any other trap is CodeTrap, however
// close to the limit the memory is.
func (r *Runtime) nearMemoryLimit(inst *instance) bool {
	return inst.gmem != nil && inst.gmem.Refused()
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// argBuffer returns a guest buffer of at least n bytes, calling
// interstice_alloc only when the cached one is too small (docs/ABI.md).
func (r *Runtime) argBuffer(ctx context.Context, inst *instance, n uint32) (uint32, error) {
	if n <= inst.argCap && inst.argPtr != 0 {
		return inst.argPtr, nil
	}
	size := uint32(64)
	for size < n {
		size <<= 1
	}
	s := inst.stack[:]
	s[0] = uint64(size)
	if err := inst.fnAlloc.CallWithStack(ctx, s[:1]); err != nil {
		return 0, err
	}
	ptr := uint32(s[0])
	if ptr == 0 {
		return 0, fmt.Errorf("interstice_alloc(%d) returned 0", size)
	}
	if _, ok := inst.mem.Read(ptr, size); !ok {
		return 0, fmt.Errorf("interstice_alloc(%d) returned %d, outside memory", size, ptr)
	}
	inst.argPtr, inst.argCap = ptr, size
	return ptr, nil
}

func (r *Runtime) pushFrame(m *module, inst *instance, red *reducer, x *tx) *frame {
	depth := 0
	if r.top != nil {
		depth = r.topDepth + 1
	}
	for len(r.frames) <= depth {
		r.frames = append(r.frames, &frame{})
	}
	f := r.frames[depth]
	iters := f.iters[:0]
	*f = frame{mod: m, inst: inst, red: red, tx: x, prev: r.top, iters: iters}
	r.top = f
	r.topDepth = depth
	return f
}

func (r *Runtime) popFrame(f *frame) {
	r.top = f.prev
	r.topDepth--
	for i := range f.iters {
		f.iters[i] = iterator{}
	}
	f.iters = f.iters[:0]
}
