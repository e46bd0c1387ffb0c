package core

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// memReplication is a Replicator for tests: the units proposed are
// committed at once, in order, and each replica applies them
// (ApplyCommitted) when a proposer waits.
type memReplication struct {
	mu       sync.Mutex
	units    []Unit
	replicas []*Runtime
	applied  map[*Runtime]int
}

func (m *memReplication) Propose(u Unit) func() error {
	c := Unit{FirstLSN: u.FirstLSN, Prev: u.Prev, Wasm: bytes.Clone(u.Wasm)}
	for _, r := range u.Records {
		c.Records = append(c.Records, bytes.Clone(r))
	}
	m.mu.Lock()
	m.units = append(m.units, c)
	m.mu.Unlock()
	return m.deliver
}

// deliver applies every committed unit to every replica, in order.
func (m *memReplication) deliver() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.replicas {
		for m.applied[r] < len(m.units) {
			if err := r.ApplyCommitted(m.units[m.applied[r]]); err != nil {
				return err
			}
			m.applied[r]++
		}
	}
	return nil
}

// proposeOnly is a Replicator that accepts units and never commits them.
type proposeOnly struct{}

func (proposeOnly) Propose(Unit) func() error {
	return func() error { return errors.New("not committed: the replication lost the lead") }
}

// TestReplicatedRuntimesAgree: a leader's calls (cascades included) and
// module loads, applied by a follower through ApplyCommitted without
// running WASM, leave both with the same state hash; each one's own log
// holds the units, so a reopen replays to the same state; and the
// follower, made the leader, goes on from there.
func TestReplicatedRuntimesAgree(t *testing.T) {
	bank := bankWasm(t)
	rep := &memReplication{applied: map[*Runtime]int{}}
	da, db := t.TempDir(), t.TempDir()
	a := openDur(t, durConfig(t, da).WithReplicator(rep))
	b := openDur(t, durConfig(t, db).WithReplicator(rep))
	rep.replicas = []*Runtime{a, b}
	if _, err := a.LoadModule(bank); err != nil {
		t.Fatal(err)
	}
	mustCall(t, a, "bank", "open", "alice", int64(100))
	mustCall(t, a, "bank", "open", "bob", int64(0))
	for i := uint64(1); i <= 20; i++ {
		if res := mustCall(t, a, "bank", "transfer", i, "alice", "bob", int64(1)); len(res.Cascade) != 2 {
			t.Fatalf("transfer %d: cascade %+v", i, res.Cascade)
		}
	}
	hash := func(rt *Runtime) (uint64, [32]byte) {
		t.Helper()
		lsn, sum, err := rt.StateHash()
		if err != nil {
			t.Fatal(err)
		}
		return lsn, sum
	}
	la, ha := hash(a)
	lb, hb := hash(b)
	if la != lb || ha != hb || la != 1+2+3*20 {
		t.Fatalf("leader lsn %d %x, follower lsn %d %x", la, ha, lb, hb)
	}
	if n := count(t, b, "bank", "statements"); n != 40 {
		t.Fatalf("the follower holds %d statement lines, want 40", n)
	}
	if _, err := b.Snapshot(); CodeOf(err) != CodeUnsupported {
		t.Fatalf("Snapshot of a replica: %v, want unsupported", err)
	}
	a.Close()
	b.Close()

	// Reopened, each replays its own log to the same state; b leads now,
	// and runs the module from the wasm the unit carried.
	rep2 := &memReplication{applied: map[*Runtime]int{}}
	b = openDur(t, durConfig(t, db).WithReplicator(rep2))
	defer b.Close()
	a = openDur(t, durConfig(t, da).WithReplicator(rep2))
	defer a.Close()
	rep2.replicas = []*Runtime{b, a}
	if _, hb2 := hash(b); hb2 != ha {
		t.Fatalf("the follower reopened to %x, want %x", hb2, ha)
	}
	res := mustCall(t, b, "bank", "transfer", uint64(21), "bob", "alice", int64(5))
	if res.LSN != la+1 || len(res.Cascade) != 2 {
		t.Fatalf("the new leader's transfer: %+v, want lsn %d and a cascade of 2", res, la+1)
	}
	if _, h1 := hash(a); h1 != func() [32]byte { _, h := hash(b); return h }() {
		t.Fatal("the replicas disagree after the new leader's call")
	}
}

// TestReplicaDivergenceIsRefused: a runtime whose proposal was not
// committed (it lost the lead) holds state the replication does not;
// its wait fails and poisons it, and a committed unit that takes the same
// LSNs is refused with ErrDiverged instead of being skipped as its own.
func TestReplicaDivergenceIsRefused(t *testing.T) {
	kv := kvWasm(t)
	// The committed history: a load and one put, from another leader.
	rep := &memReplication{applied: map[*Runtime]int{}}
	other := openDur(t, durConfig(t, t.TempDir()).WithReplicator(rep))
	defer other.Close()
	rep.replicas = []*Runtime{other}
	if _, err := other.LoadModule(kv); err != nil {
		t.Fatal(err)
	}
	mustCall(t, other, "kv", "put", uint64(1), "committed")

	lost := openDur(t, durConfig(t, t.TempDir()).WithReplicator(proposeOnly{}))
	defer lost.Close()
	if _, err := lost.LoadModule(kv); CodeOf(err) != CodePoisoned {
		t.Fatalf("a load the replication refused: %v, want poisoned", err)
	}
	err := lost.ApplyCommitted(rep.units[0])
	if !errors.Is(err, ErrDiverged) && CodeOf(err) != CodePoisoned {
		t.Fatalf("ApplyCommitted over a proposal of its own that was not committed: %v", err)
	}

	// A replica with nothing of its own in flight skips a unit built on
	// another history (a gap, or a Prev that is not its last record's
	// hash), and applies the history as it committed.
	fresh := openDur(t, durConfig(t, t.TempDir()).WithReplicator(proposeOnly{}))
	defer fresh.Close()
	forged := rep.units[0]
	forged.Prev = 12345
	for name, u := range map[string]Unit{"a gap": rep.units[1], "another history": forged} {
		if err := fresh.ApplyCommitted(u); err != ErrStale {
			t.Fatalf("%s: %v, want ErrStale", name, err)
		}
	}
	for _, u := range rep.units {
		if err := fresh.ApplyCommitted(u); err != nil {
			t.Fatal(err)
		}
	}
	_, want, _ := other.StateHash()
	if _, got, _ := fresh.StateHash(); got != want {
		t.Fatal("the replica that skipped stale units does not hold the committed state")
	}
	if err := fresh.ApplyCommitted(rep.units[1]); err != nil {
		t.Fatalf("a unit the log already holds: %v, want it skipped quietly", err)
	}
}
