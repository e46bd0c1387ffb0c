package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineCtx is the context every guest call runs under. wazero (with
// close-on-context-done) watches its Done channel and closes the running
// module when it fires. One deadlineCtx is reused for every transaction:
// arming it costs a timer reset instead of the timer, goroutine-safe
// cancel tree and allocations of context.WithTimeout.
type deadlineCtx struct {
	parent     context.Context // read only by the executing goroutine
	done       atomic.Pointer[chan struct{}]
	mu         sync.Mutex
	err        error
	armed      bool
	when       time.Time
	timer      *time.Timer
	stopParent func() bool
}

func newDeadlineCtx() *deadlineCtx {
	c := &deadlineCtx{parent: context.Background()}
	ch := make(chan struct{})
	c.done.Store(&ch)
	c.timer = time.AfterFunc(time.Hour, c.onTimer)
	c.timer.Stop()
	return c
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.when, c.armed
}
func (c *deadlineCtx) Done() <-chan struct{} { return *c.done.Load() }
func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
func (c *deadlineCtx) Value(k any) any { return c.parent.Value(k) }

// arm starts a transaction's budget: d from now, or parent's deadline if
// sooner; parent's cancellation also fires it.
func (c *deadlineCtx) arm(parent context.Context, d time.Duration) {
	now := time.Now()
	when := now.Add(d)
	if pd, ok := parent.Deadline(); ok && pd.Before(when) {
		when = pd
	}
	c.mu.Lock()
	if c.err != nil {
		ch := make(chan struct{})
		c.done.Store(&ch)
		c.err = nil
	}
	c.parent = parent
	c.when = when
	c.armed = true
	c.mu.Unlock()
	c.timer.Reset(when.Sub(now))
	if parent.Done() != nil {
		if err := parent.Err(); err != nil {
			c.fire(err)
		} else {
			c.stopParent = context.AfterFunc(parent, func() { c.fire(parent.Err()) })
		}
	}
}

func (c *deadlineCtx) onTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed || c.err != nil {
		return
	}
	if rest := time.Until(c.when); rest > 0 {
		c.timer.Reset(rest) // a stale timer from an earlier arm
		return
	}
	c.err = context.DeadlineExceeded
	close(*c.done.Load())
}

func (c *deadlineCtx) fire(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed && c.err == nil {
		c.err = err
		close(*c.done.Load())
	}
}

// disarm ends the budget and returns the error if it fired.
func (c *deadlineCtx) disarm() error {
	c.timer.Stop()
	if c.stopParent != nil {
		c.stopParent()
		c.stopParent = nil
	}
	c.mu.Lock()
	c.armed = false
	err := c.err
	c.mu.Unlock()
	c.parent = context.Background()
	return err
}
