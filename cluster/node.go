package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/interstice/interstice/core"
)

// Peer is one voter of a cluster: its raft server ID and address.
type Peer struct {
	ID, Addr string
}

// Config configures a Node.
type Config struct {
	// ID is the node's raft server ID, unique in the cluster.
	ID string
	// Dir holds the node's state: raft/ (the raft log and stable store,
	// BoltDB), snapshots/ (raft's) and data/ (the runtime's data
	// directory).
	Dir string
	// RaftAddr is the TCP address raft listens on ("127.0.0.1:7001"; port
	// 0 picks one, see Node.Addr).
	RaftAddr string
	// HTTPAddr is where the node serves its Handler, if it does: the
	// leader records its own in the raft log when it takes the lead, so
	// that followers can forward writes to it ("" for none).
	HTTPAddr string
	// Runtime is the runtime configuration the node starts from
	// (core.NewConfig() when nil); the node sets its data directory and
	// its Replicator.
	Runtime *core.Config
	// Bootstrap, on one node of a new cluster, lists its first voters
	// (the node itself included). Ignored when the node has raft state.
	Bootstrap []Peer
	// HeartbeatTimeout and ElectionTimeout are raft's (1 s each when zero).
	HeartbeatTimeout, ElectionTimeout time.Duration
	// SnapshotThreshold and TrailingLogs are raft's: a node takes a raft
	// snapshot once that many entries were applied since the last one
	// (8192 when zero), and keeps that many entries of its raft log
	// behind it (10240 when zero), so that a follower not that far behind
	// catches up from the log rather than by installing the snapshot.
	SnapshotThreshold, TrailingLogs uint64
	// LogOutput receives raft's log lines (discarded when nil).
	LogOutput io.Writer
}

// ErrNotLeader is returned by writes on a node that is not the leader;
// NotLeaderError names the leader when one is known.
var ErrNotLeader = errors.New("cluster: not the leader")

// NotLeaderError is a write refused by a follower (errors.Is(err,
// ErrNotLeader)); Leader is the leader's raft address, "" if unknown.
type NotLeaderError struct {
	Node, Leader, LeaderID string
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return fmt.Sprintf("cluster: node %s is not the leader, and no leader is known", e.Node)
	}
	return fmt.Sprintf("cluster: node %s is not the leader; the leader is %s at %s", e.Node, e.LeaderID, e.Leader)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// Node is one node of a cluster: a raft server and the runtime it applies
// the committed units to.
type Node struct {
	cfg       Config
	raft      *raft.Raft
	transport *raft.NetworkTransport
	store     *raftboltdb.BoltStore
	fsm       *fsm
	ready     atomic.Bool // the leader, with every earlier entry applied
	stop      chan struct{}
	watched   sync.WaitGroup
	applyWait time.Duration

	failOnce sync.Once
	failed   atomic.Pointer[error] // why the node stopped applying
	down     chan struct{}         // closed when it did
}

// stopOn stops the node after a failure to apply a committed entry: it takes
// no more writes, applies nothing more, and shuts raft down (the other
// nodes go on without it). It returns err.
func (n *Node) stopOn(err error) error {
	n.failOnce.Do(func() {
		n.failed.Store(&err)
		n.ready.Store(false)
		close(n.down)
		go n.raft.Shutdown() // not from raft's own FSM goroutine
	})
	return err
}

// Err returns why the node stopped applying entries (nil while it runs).
// It reads no more of the cluster's state; its runtime is still there,
// for reads of what it applied before.
func (n *Node) Err() error {
	if e := n.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// Down is closed when the node stopped applying entries (Err says why):
// a process serving the node should then exit.
func (n *Node) Down() <-chan struct{} { return n.down }

// Open starts a node: it opens (or creates) its directories, replays its
// runtime's own log, and joins raft, bootstrapping a new cluster if
// Config.Bootstrap says so.
func Open(cfg Config) (*Node, error) {
	if cfg.ID == "" || cfg.Dir == "" || cfg.RaftAddr == "" {
		return nil, errors.New("cluster: Config needs ID, Dir and RaftAddr")
	}
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	for _, d := range []string{"raft", "snapshots", "data"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	n := &Node{cfg: cfg, stop: make(chan struct{}), down: make(chan struct{}), applyWait: 30 * time.Second}
	rc := core.NewConfig()
	if cfg.Runtime != nil {
		rc = *cfg.Runtime
	}
	n.fsm = &fsm{node: n, cfg: rc.WithDataDir(filepath.Join(cfg.Dir, "data")).WithReplicator(n)}
	if err := n.fsm.open(); err != nil {
		return nil, err
	}
	fail := func(err error) (*Node, error) {
		n.fsm.close()
		if n.store != nil {
			n.store.Close()
		}
		if n.transport != nil {
			n.transport.Close()
		}
		return nil, err
	}
	store, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft", "raft.db"))
	if err != nil {
		return fail(fmt.Errorf("cluster: raft store: %w", err))
	}
	n.store = store
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(cfg.Dir, "snapshots"), 2, out)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft snapshots: %w", err))
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft address: %w", err))
	}
	tr, err := raft.NewTCPTransport(cfg.RaftAddr, advertise(addr), 3, 10*time.Second, out)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft transport: %w", err))
	}
	n.transport = tr
	rcfg := raft.DefaultConfig()
	rcfg.LocalID = raft.ServerID(cfg.ID)
	// Proposals are made under the runtime's transaction lock: a buffered
	// apply channel lets the next call run while raft batches them
	// (cluster/RATIONALE.md, "Measured").
	rcfg.BatchApplyCh = true
	rcfg.LogOutput = out
	if cfg.HeartbeatTimeout > 0 {
		rcfg.HeartbeatTimeout = cfg.HeartbeatTimeout
		rcfg.LeaderLeaseTimeout = cfg.HeartbeatTimeout / 2
	}
	if cfg.ElectionTimeout > 0 {
		rcfg.ElectionTimeout = cfg.ElectionTimeout
	}
	if cfg.SnapshotThreshold > 0 {
		rcfg.SnapshotThreshold = cfg.SnapshotThreshold
		rcfg.SnapshotInterval = time.Second // check often; the threshold decides
	}
	if cfg.TrailingLogs > 0 {
		rcfg.TrailingLogs = cfg.TrailingLogs
	}
	hasState, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft state: %w", err))
	}
	r, err := raft.NewRaft(rcfg, n.fsm, store, store, snaps, tr)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft: %w", err))
	}
	n.raft = r
	if !hasState && len(cfg.Bootstrap) > 0 {
		var servers []raft.Server
		for _, p := range cfg.Bootstrap {
			servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			r.Shutdown()
			return fail(fmt.Errorf("cluster: bootstrap: %w", err))
		}
	}
	n.watched.Add(1)
	go n.watchLeadership()
	return n, nil
}

// advertise is the address peers reach the node at: addr, with the
// loopback address when it names none.
func advertise(addr *net.TCPAddr) net.Addr {
	if addr.IP == nil || addr.IP.IsUnspecified() {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: addr.Port}
	}
	return addr
}

// watchLeadership marks the node ready to take writes once it leads and
// has applied every entry before its term (a barrier), and not ready as
// soon as it stops leading.
func (n *Node) watchLeadership() {
	defer n.watched.Done()
	for {
		select {
		case <-n.stop:
			return
		case leader := <-n.raft.LeaderCh():
			n.ready.Store(false)
			if leader && n.raft.Barrier(n.applyWait).Error() == nil && n.raft.State() == raft.Leader {
				if h := n.cfg.HTTPAddr; h != "" && n.fsm.httpOf(n.cfg.ID) != h {
					n.raft.Apply(encodeMember(member{id: n.cfg.ID, http: h}), n.applyWait).Error()
				}
				n.ready.Store(true)
			}
		}
	}
}

// Addr is the node's raft address (with the port picked, if it was 0).
func (n *Node) Addr() string { return string(n.transport.LocalAddr()) }

// ID is the node's raft server ID.
func (n *Node) ID() string { return n.cfg.ID }

// IsLeader reports whether the node leads and takes writes.
func (n *Node) IsLeader() bool { return n.ready.Load() }

// Leader returns the leader's raft address and server ID, "" if none is
// known.
func (n *Node) Leader() (addr, id string) {
	a, i := n.raft.LeaderWithID()
	return string(a), string(i)
}

func (n *Node) notLeader() error {
	if err := n.Err(); err != nil {
		return err // stopped
	}
	a, i := n.Leader()
	return &NotLeaderError{Node: n.cfg.ID, Leader: a, LeaderID: i}
}

// Runtime returns the runtime the node applies to, for reads: local reads,
// which see the units this node applied (Status says up to which LSN).
// It changes when the node reopens its runtime (after it lost the lead
// with proposals in flight); take it again rather than keep it.
func (n *Node) Runtime() *core.Runtime { return n.fsm.runtime() }

// Call runs a reducer on the leader (core.Runtime.Call): it returns once
// the call's unit is committed by a majority and applied here. A follower
// refuses it with a NotLeaderError naming the leader.
func (n *Node) Call(ctx context.Context, module, reducer string, args []byte) (core.CallResult, error) {
	if !n.ready.Load() {
		return core.CallResult{}, n.notLeader()
	}
	return n.fsm.runtime().Call(ctx, module, reducer, args)
}

// CallJSON is Call with JSON arguments (core.Runtime.CallJSON).
func (n *Node) CallJSON(ctx context.Context, module, reducer string, args []byte) (core.CallResult, error) {
	if !n.ready.Load() {
		return core.CallResult{}, n.notLeader()
	}
	return n.fsm.runtime().CallJSON(ctx, module, reducer, args)
}

// LoadModule loads or upgrades a module on the leader; its unit carries
// the wasm, which every node stores.
func (n *Node) LoadModule(wasm []byte) (*core.ModuleInfo, error) {
	if !n.ready.Load() {
		return nil, n.notLeader()
	}
	return n.fsm.runtime().LoadModule(wasm)
}

// Join adds a voter (on the leader).
func (n *Node) Join(id, addr string) error {
	if n.raft.State() != raft.Leader {
		return n.notLeader()
	}
	return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.applyWait).Error()
}

// Remove removes a server from the cluster (on the leader).
func (n *Node) Remove(id string) error {
	if n.raft.State() != raft.Leader {
		return n.notLeader()
	}
	return n.raft.RemoveServer(raft.ServerID(id), 0, n.applyWait).Error()
}

// TransferLeadership hands the lead to another voter (on the leader): to
// the server id, or to the most up-to-date one when id is "".
func (n *Node) TransferLeadership(id string) error {
	if n.raft.State() != raft.Leader {
		return n.notLeader()
	}
	if id == "" {
		return n.raft.LeadershipTransfer().Error()
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			return n.raft.LeadershipTransferToServer(s.ID, s.Address).Error()
		}
	}
	return fmt.Errorf("cluster: no server %q in the configuration", id)
}

// Status is what a node knows of the cluster and of its own progress.
type Status struct {
	ID, State        string // raft state: Leader, Follower, Candidate, Shutdown
	Leader, LeaderID string
	Term             uint64
	AppliedLSN       uint64 // the last LSN this node applied
	// InstalledSnapshots counts the raft snapshots this node installed by
	// rebuilding its state (it was too far behind the leader's log).
	InstalledSnapshots uint64
	// SnapshotIndex is the raft index of the node's newest snapshot (0:
	// none); its raft log keeps TrailingLogs entries before it.
	SnapshotIndex uint64
}

// Status returns the node's status.
func (n *Node) Status() Status {
	st := Status{ID: n.cfg.ID, State: n.raft.State().String(), AppliedLSN: n.fsm.applied(), InstalledSnapshots: n.fsm.installed.Load()}
	st.Leader, st.LeaderID = n.Leader()
	stats := n.raft.Stats()
	fmt.Sscan(stats["term"], &st.Term)
	fmt.Sscan(stats["last_snapshot_index"], &st.SnapshotIndex)
	return st
}

// StateHash is the runtime's state hash at the last LSN this node applied
// (core.Runtime.StateHash): equal on every node at the same LSN.
func (n *Node) StateHash() (uint64, [32]byte, error) { return n.fsm.runtime().StateHash() }

// Propose implements core.Replicator: it appends the unit to the raft log
// and waits, when asked, until raft committed it and this node applied it.
func (n *Node) Propose(u core.Unit) func() error {
	f := n.raft.Apply(encodeUnit(u), n.applyWait)
	first := u.FirstLSN
	// Once: several callers may wait for one unit, and a raft future's
	// Error is not safe to call from two goroutines at once.
	return sync.OnceValue(func() error {
		if err := f.Error(); err != nil {
			return fmt.Errorf("cluster: unit at lsn %d: %w", first, err)
		}
		if err, ok := f.Response().(error); ok && err != nil {
			return err
		}
		return nil
	})
}

// Close stops the node: raft first (no more entries are applied), then
// the runtime.
func (n *Node) Close() error {
	close(n.stop)
	err := n.raft.Shutdown().Error()
	n.watched.Wait()
	n.transport.Close()
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	if cerr := n.fsm.close(); err == nil {
		err = cerr
	}
	return err
}
