package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/interstice/interstice/core"
)

// fsm applies committed raft entries to the node's runtime.
type fsm struct {
	node *Node
	cfg  core.Config

	mu  sync.RWMutex // guards rt
	rt  *core.Runtime
	lsn atomic.Uint64 // the last LSN applied: what the runtime's log holds

	installed atomic.Uint64 // snapshots installed by rebuilding the runtime

	members sync.Map // node ID -> HTTP address (member entries)
}

// httpOf returns the HTTP address of node id, "" if unknown.
func (f *fsm) httpOf(id string) string {
	if v, ok := f.members.Load(id); ok {
		return v.(string)
	}
	return ""
}

func (f *fsm) open() error {
	rt, err := core.Open(f.cfg)
	if err != nil {
		return fmt.Errorf("cluster: open runtime: %w", err)
	}
	f.mu.Lock()
	f.setLocked(rt)
	f.mu.Unlock()
	return nil
}

// setLocked makes rt the runtime (f.mu held), applied to its log's end.
func (f *fsm) setLocked(rt *core.Runtime) {
	f.rt = rt
	f.lsn.Store(rt.LastLSN())
}

func (f *fsm) runtime() *core.Runtime {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.rt
}

// applied is the last LSN the node applied, read without the runtime's
// transaction lock (every HTTP reply carries it).
func (f *fsm) applied() uint64 { return f.lsn.Load() }

func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rt == nil {
		return nil
	}
	err := f.rt.Close()
	f.rt = nil
	return err
}

// Apply applies one committed unit. A runtime that cannot take it because
// its state holds proposals that were not committed (it lost the lead
// with units in flight) is reopened from its data directory, which holds
// only what was applied, and takes it then. The returned value is the
// proposer's outcome (Node.Propose).
func (f *fsm) Apply(l *raft.Log) any {
	if err := f.node.Err(); err != nil {
		return err // stopped: apply nothing more
	}
	if m, ok := decodeMember(l.Data); ok {
		f.members.Store(m.id, m.http)
		return nil
	}
	u, err := decodeUnit(l.Data, l.Index)
	if err != nil {
		return err
	}
	rt := f.runtime()
	err = rt.ApplyCommitted(u)
	if err == core.ErrStale {
		return err // skipped by every node alike; its proposer's call fails
	}
	if core.CodeOf(err) == core.CodePoisoned {
		// Reopen: replay what the data directory holds, then apply.
		f.mu.Lock()
		f.rt.Close()
		nrt, oerr := core.Open(f.cfg)
		if oerr != nil {
			f.mu.Unlock()
			return f.node.stopOn(fmt.Errorf("cluster: node %s cannot reopen its runtime: %w", f.node.cfg.ID, oerr))
		}
		f.setLocked(nrt)
		rt = nrt
		f.mu.Unlock()
		if err = rt.ApplyCommitted(u); err == core.ErrStale {
			return err
		}
	}
	if err != nil {
		// A committed unit that does not apply (a full disk, a failing
		// write, a replay fault) means this node can no longer hold the
		// cluster's state: it stops, and the others go on.
		return f.node.stopOn(fmt.Errorf("cluster: node %s cannot apply raft entry %d (lsn %d): %w", f.node.cfg.ID, l.Index, u.FirstLSN, err))
	}
	f.lsn.Store(max(f.lsn.Load(), u.LastLSN())) // a unit the log held already is below it
	return nil
}
