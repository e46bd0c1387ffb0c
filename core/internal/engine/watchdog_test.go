package engine

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// flag is an interrupt global; module a module that may be closed.
type flag struct {
	api.MutableGlobal
	v uint64
}

func (f *flag) Get() uint64  { return f.v }
func (f *flag) Set(v uint64) { f.v = v }

type module struct {
	api.Module
	closed bool
}

func (m *module) IsClosed() bool { return m.closed }

// TestDisarmClearsTheFlagOfAnInstanceThatReturned: the watchdog sets the
// flag of the instance running when the budget is spent; one that
// returned before its next check is still open, so disarm clears its flag
// (it keeps running); one that trapped on it was closed, and is left
// alone. The killed generation reports the deadline's exit code, the next
// one nothing.
func TestDisarmClearsTheFlagOfAnInstanceThatReturned(t *testing.T) {
	w := NewWatchdog(5 * time.Millisecond)
	defer w.Close()
	for _, trapped := range []bool{false, true} {
		f, m := &flag{}, &module{}
		g := w.Arm(context.Background())
		w.SetRunning(&Target{Flag: f, Mod: m})
		deadline := time.Now().Add(2 * time.Second)
		for f.Get() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if f.Get() != 1 || !w.Expired(g) {
			t.Fatalf("trapped=%v: flag %d expired %v after the budget", trapped, f.Get(), w.Expired(g))
		}
		m.closed = trapped
		if code := w.Disarm(g); code != sys.ExitCodeDeadlineExceeded {
			t.Fatalf("Disarm: exit code %d", code)
		}
		if want := map[bool]uint64{false: 0, true: 1}[trapped]; f.Get() != want {
			t.Fatalf("trapped=%v: flag %d after Disarm, want %d", trapped, f.Get(), want)
		}
		g2 := w.Arm(context.Background())
		if code := w.Disarm(g2); code != 0 || w.Expired(g2) {
			t.Fatalf("a quick call after a kill: exit code %d", code)
		}
	}
}

// TestCancelledCallerIsKilled: a caller's cancelled context stops its
// call within a few ticks, with the cancellation's exit code.
func TestCancelledCallerIsKilled(t *testing.T) {
	w := NewWatchdog(time.Hour)
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f := &flag{}
	g := w.Arm(ctx)
	w.SetRunning(&Target{Flag: f, Mod: &module{}})
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for f.Get() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if code := w.Disarm(g); code != sys.ExitCodeContextCanceled {
		t.Fatalf("exit code %d, want the cancellation's", code)
	}
}
