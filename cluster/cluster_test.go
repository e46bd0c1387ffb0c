package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/internal/testnet"
	"github.com/interstice/interstice/internal/testwasm"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

type testCluster struct {
	t *testing.T
	// raft's snapshot settings for every node (0: raft's defaults)
	snapshotThreshold, trailingLogs uint64
	logFS                           map[int]persistence.FS // a node's log's file system (fault injection)
	peers                           []Peer
	dirs                            []string
	nodes                           []*Node // nil: stopped
}

func (c *testCluster) config(i int) Config {
	rc := core.NewConfig().WithCompilationCacheDir(testwasm.CacheDir(c.t))
	if fs := c.logFS[i]; fs != nil {
		rc = rc.WithLogFS(fs)
	}
	cfg := Config{ID: c.peers[i].ID, Dir: c.dirs[i], RaftAddr: c.peers[i].Addr, Runtime: &rc,
		HeartbeatTimeout: time.Second, ElectionTimeout: time.Second,
		SnapshotThreshold: c.snapshotThreshold, TrailingLogs: c.trailingLogs}
	if i == 0 {
		cfg.Bootstrap = c.peers
	}
	return cfg
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	n, err := Open(c.config(i))
	if err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
	c.nodes[i] = n
}

func (c *testCluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatalf("close node %d: %v", i, err)
	}
	c.nodes[i] = nil
}

func newCluster(t *testing.T, n int) *testCluster {
	return startCluster(&testCluster{t: t, nodes: make([]*Node, n)})
}

func startCluster(c *testCluster) *testCluster {
	t, n := c.t, len(c.nodes)
	for i := 0; i < n; i++ {
		c.peers = append(c.peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: testnet.FreeAddr(t)})
		c.dirs = append(c.dirs, filepath.Join(t.TempDir(), c.peers[i].ID))
	}
	for i := range c.nodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i, n := range c.nodes {
			if n != nil {
				c.stop(i)
			}
		}
	})
	return c
}

// leader waits (at most 30 s) for a running node to take writes.
func (c *testCluster) leader() *Node {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n != nil && n.IsLeader() {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("no leader within 30 s")
	return nil
}

// converge waits (at most 30 s) until every running node applied lsn, and
// checks that they all hold the same state hash there.
func (c *testCluster) converge(lsn uint64) [32]byte {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sums [][32]byte
		done := true
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			at, sum, err := n.StateHash()
			if err != nil {
				c.t.Fatal(err)
			}
			if at < lsn {
				done = false
				break
			}
			if at > lsn {
				c.t.Fatalf("node %s applied lsn %d, past %d", n.ID(), at, lsn)
			}
			sums = append(sums, sum)
		}
		if done {
			for _, s := range sums[1:] {
				if s != sums[0] {
					c.t.Fatalf("the nodes disagree at lsn %d: %x", lsn, sums)
				}
			}
			return sums[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the nodes did not all apply lsn %d within 30 s", lsn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bankCluster starts three nodes, loads examples/bank on the leader and
// opens the accounts with balance each.
func bankCluster(t *testing.T, balance int64, accounts ...string) (*testCluster, *Node) {
	return bankClusterOf(&testCluster{t: t, nodes: make([]*Node, 3)}, balance, accounts...)
}

func bankClusterOf(c *testCluster, balance int64, accounts ...string) (*testCluster, *Node) {
	t := c.t
	if testing.Short() {
		t.Skip("builds a Go guest and runs three raft nodes")
	}
	bank := testwasm.Go(t, "examples/bank")
	startCluster(c)
	l := c.leader()
	if _, err := l.LoadModule(bank); err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if _, err := l.Call(context.Background(), "bank", "open", row.MustEncode(a, balance)); err != nil {
			t.Fatal(err)
		}
	}
	return c, l
}

func transfer(t *testing.T, n *Node, id uint64, from, to string) core.CallResult {
	t.Helper()
	res, err := n.Call(context.Background(), "bank", "transfer", row.MustEncode(id, from, to, int64(1)))
	if err != nil {
		t.Fatalf("transfer %d on %s: %v", id, n.ID(), err)
	}
	if len(res.Cascade) != 2 || res.CascadeErr != nil {
		t.Fatalf("transfer %d: cascade %+v", id, res.Cascade)
	}
	return res
}

// TestThreeNodes: a module load and calls (each a cascade of three
// transactions) on the leader are applied by the followers without WASM
// to the same state hash; a follower refuses writes and names the leader;
// after the leader stops, another node leads, runs the module from the
// wasm its unit carried, and goes on; the stopped node restarts, replays
// its own log, takes the raft entries it missed, and agrees.
func TestThreeNodes(t *testing.T) {
	c, l := bankCluster(t, 1000, "alice", "bob")
	var last core.CallResult
	for i := uint64(1); i <= 30; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	lsn := last.Cascade[1].LSN
	before := c.converge(lsn)

	for _, n := range c.nodes {
		if n == l {
			continue
		}
		_, err := n.Call(context.Background(), "bank", "transfer", row.MustEncode(uint64(99), "alice", "bob", int64(1)))
		var nl *NotLeaderError
		if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nl) || nl.Leader != l.Addr() {
			t.Fatalf("a write on follower %s: %v, want NotLeaderError naming %s", n.ID(), err, l.Addr())
		}
		if cnt, err := n.Runtime().Count("bank", "statements"); err != nil || cnt != 60 {
			t.Fatalf("follower %s holds %d statement lines (%v), want 60", n.ID(), cnt, err)
		}
	}

	// The leader stops; another leads and goes on.
	old := -1
	for i, n := range c.nodes {
		if n == l {
			old = i
		}
	}
	c.stop(old)
	l2 := c.leader()
	for i := uint64(31); i <= 40; i++ {
		last = transfer(t, l2, i, "bob", "alice")
	}
	lsn2 := last.Cascade[1].LSN
	if lsn2 != lsn+30 {
		t.Fatalf("the new leader's last lsn %d, want %d", lsn2, lsn+30)
	}
	c.converge(lsn2)

	// The stopped node restarts and catches up.
	c.start(old)
	after := c.converge(lsn2)
	if after == before {
		t.Fatal("the state hash did not change over ten transfers")
	}
	st := c.nodes[old].Status()
	if st.AppliedLSN != lsn2 || st.State != "Follower" || st.LeaderID != l2.ID() {
		t.Fatalf("restarted node status %+v", st)
	}
	for _, n := range c.nodes {
		if cnt, err := n.Runtime().Count("bank", "transfers"); err != nil || cnt != 40 {
			t.Fatalf("node %s holds %d transfers (%v), want 40", n.ID(), cnt, err)
		}
	}
}

// TestLeaderStopsUnderLoad: four clients make transfers against whichever
// node leads, while the leader is stopped and restarted three times. Every
// acknowledged transfer is then on every node, with its two statement
// lines, and the nodes agree byte for byte (state hash). A call that failed
// may or may not have committed (its outcome is unknown); none is applied
// twice (transfer ids are keys).
func TestLeaderStopsUnderLoad(t *testing.T) {
	accounts := []string{"a", "b", "c", "d"}
	c, l := bankCluster(t, 1<<40, accounts...)
	var mu sync.Mutex
	acked := map[uint64]bool{}
	current := func() *Node {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range c.nodes {
			if n != nil && n.IsLeader() {
				return n
			}
		}
		return nil
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := uint64(1); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := current()
				if n == nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				id := uint64(g)*1_000_000 + i
				_, err := n.Call(context.Background(), "bank", "transfer", row.MustEncode(id, accounts[g], accounts[(g+1)%4], int64(1)))
				if err == nil {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}(g)
	}
	for round := 0; round < 3; round++ {
		time.Sleep(400 * time.Millisecond)
		l := c.leader()
		mu.Lock()
		i := -1
		for k, n := range c.nodes {
			if n == l {
				i = k
			}
		}
		c.nodes[i] = nil // no client picks it while it stops
		mu.Unlock()
		if err := l.Close(); err != nil {
			t.Fatalf("round %d: close the leader: %v", round, err)
		}
		c.leader()
		time.Sleep(200 * time.Millisecond)
		n, err := Open(c.config(i))
		if err != nil {
			t.Fatalf("round %d: restart: %v", round, err)
		}
		mu.Lock()
		c.nodes[i] = n
		mu.Unlock()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	l = c.leader()
	// A unit of the last term commits the earlier ones: take one.
	if _, err := l.Call(context.Background(), "bank", "transfer", row.MustEncode(uint64(9_000_000), "a", "b", int64(1))); err != nil {
		t.Fatal(err)
	}
	lsn, _, err := l.StateHash()
	if err != nil {
		t.Fatal(err)
	}
	c.converge(lsn)
	if len(acked) < 20 {
		t.Fatalf("only %d acknowledged transfers", len(acked))
	}
	for _, n := range c.nodes {
		rt := n.Runtime()
		for id := range acked {
			if _, ok, err := rt.Get("bank", "transfers", id); err != nil || !ok {
				t.Fatalf("node %s lacks acknowledged transfer %d (%v)", n.ID(), id, err)
			}
		}
		nt, _ := rt.Count("bank", "transfers")
		ns, _ := rt.Count("bank", "statements")
		if ns != 2*nt {
			t.Fatalf("node %s: %d statement lines for %d transfers", n.ID(), ns, nt)
		}
	}
	t.Logf("%d acknowledged transfers, all on every node; lsn %d", len(acked), lsn)
}

// TestCatchUpBySnapshot: with raft snapshots every 40 entries and 10
// entries kept behind them, a follower stopped for 100 calls, and a node
// that joins afterwards, are too far behind the leader's raft log to
// catch up from it: each installs a snapshot (the leader's log as units,
// module wasm included) and then takes the log's suffix, and agrees by
// state hash; the joined node then runs the module as the leader.
func TestCatchUpBySnapshot(t *testing.T) {
	c, l := bankClusterOf(&testCluster{t: t, nodes: make([]*Node, 3), snapshotThreshold: 40, trailingLogs: 10}, 1<<30, "alice", "bob")
	var last core.CallResult
	for i := uint64(1); i <= 20; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	c.converge(last.Cascade[1].LSN)
	f := 0
	if c.nodes[f] == l {
		f = 1
	}
	c.stop(f)
	for i := uint64(21); i <= 120; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	// Snapshot now (raft would on its own within a few seconds), which
	// compacts the leader's log to its last 10 entries.
	if err := l.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.start(f)
	lsn := last.Cascade[1].LSN
	c.converge(lsn)
	if st := c.nodes[f].Status(); st.InstalledSnapshots == 0 {
		t.Fatalf("the follower caught up without installing a snapshot: %+v", st)
	}

	// A fourth node joins.
	c.peers = append(c.peers, Peer{ID: "n4", Addr: testnet.FreeAddr(t)})
	c.dirs = append(c.dirs, filepath.Join(t.TempDir(), "n4"))
	c.nodes = append(c.nodes, nil)
	c.start(3)
	for i := uint64(121); i <= 160; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	lsn = last.Cascade[1].LSN
	if err := l.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if err := l.Join("n4", c.peers[3].Addr); err != nil {
		t.Fatal(err)
	}
	c.converge(lsn)
	if st := c.nodes[3].Status(); st.InstalledSnapshots == 0 || st.AppliedLSN != lsn {
		t.Fatalf("the new node: %+v", st)
	}
	// It holds the whole history, wasm included: it can lead.
	if err := l.TransferLeadership("n4"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !c.nodes[3].IsLeader(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("n4 does not lead 30 s after the transfer: %+v", c.nodes[3].Status())
		}
	}
	last = transfer(t, c.nodes[3], 161, "bob", "alice")
	c.converge(last.Cascade[1].LSN)

	// The old leader restarts over its own snapshots: raft hands it its
	// newest at startup, which its log already holds, so it keeps its
	// state (no rebuild) and takes the entries after it.
	i := -1
	for k, n := range c.nodes {
		if n == l {
			i = k
		}
	}
	before := l.Status().InstalledSnapshots
	c.stop(i)
	c.start(i)
	last = transfer(t, c.nodes[3], 162, "bob", "alice")
	c.converge(last.Cascade[1].LSN)
	if st := c.nodes[i].Status(); st.InstalledSnapshots != before {
		t.Fatalf("the restarted node rebuilt its state from a snapshot its log held: %+v", st)
	}
}

// fullDisk is a persistence.FS whose files' writes fail with ENOSPC once
// armed, as on a disk that filled up.
type fullDisk struct {
	persistence.OSFS
	armed atomic.Bool
}

type fullDiskFile struct {
	persistence.File
	d *fullDisk
}

func (d *fullDisk) OpenFile(name string, flag int, perm os.FileMode) (persistence.File, error) {
	f, err := d.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &fullDiskFile{f, d}, nil
}

func (f *fullDiskFile) WriteAt(p []byte, off int64) (int, error) {
	if f.d.armed.Load() {
		return 0, syscall.ENOSPC
	}
	return f.File.WriteAt(p, off)
}

// TestFollowerDiskFull: a follower whose disk fills up (its log's writes
// fail with ENOSPC, through the fault seam) cannot apply what the cluster
// commits; it stops (Err names the failure, Down is closed, raft shuts
// down) instead of serving a state that is not the cluster's, and the
// other two go on taking writes.
func TestFollowerDiskFull(t *testing.T) {
	disk := &fullDisk{}
	c, l := bankClusterOf(&testCluster{t: t, nodes: make([]*Node, 3), logFS: map[int]persistence.FS{}}, 1<<30, "alice", "bob")
	// Give the fault to a follower: restart it over the failing disk.
	f := 0
	if c.nodes[f] == l {
		f = 1
	}
	c.stop(f)
	c.logFS[f] = disk
	c.start(f)
	var last core.CallResult
	for i := uint64(1); i <= 10; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	c.converge(last.Cascade[1].LSN)
	disk.armed.Store(true)
	for i := uint64(11); i <= 30; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	select {
	case <-c.nodes[f].Down():
	case <-time.After(30 * time.Second):
		t.Fatal("the follower with a full disk did not stop within 30 s")
	}
	if err := c.nodes[f].Err(); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("the stopped node's error: %v, want it to name the full disk", err)
	}
	if st := c.nodes[f].Status(); st.State != "Shutdown" {
		t.Fatalf("the stopped node's raft is %s, want Shutdown", st.State)
	}
	// The other two go on.
	for i := uint64(31); i <= 40; i++ {
		last = transfer(t, l, i, "alice", "bob")
	}
	if _, err := c.nodes[f].Call(context.Background(), "bank", "transfer", row.MustEncode(uint64(99), "alice", "bob", int64(1))); err == nil {
		t.Fatal("the stopped node took a write")
	}
	c.stop(f)
	c.converge(last.Cascade[1].LSN)
}

// TestJoinLargeCluster (INTERSTICE_CLUSTER_LONG=1, make test-cluster): a
// node joins a cluster that holds over 100,000 transactions (33,400
// transfers, each a cascade of three) and catches up through a snapshot
// and the raft log after it, to the same state hash.
func TestJoinLargeCluster(t *testing.T) {
	if os.Getenv("INTERSTICE_CLUSTER_LONG") == "" {
		t.Skip("the long cluster test: make test-cluster")
	}
	c, l := bankClusterOf(&testCluster{t: t, nodes: make([]*Node, 3), snapshotThreshold: 8192, trailingLogs: 2048}, 1<<40, "a", "b", "c", "d")
	const transfers = 33_400
	accounts := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < transfers; i += 16 {
				id := uint64(i + 1)
				from, to := accounts[i%4], accounts[(i+1)%4]
				if _, err := l.Call(context.Background(), "bank", "transfer", row.MustEncode(id, from, to, int64(1))); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	built := time.Since(start)
	lsn := l.Status().AppliedLSN
	if lsn < 100_000 {
		t.Fatalf("the cluster holds %d transactions, want over 100,000", lsn)
	}
	if err := l.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.peers = append(c.peers, Peer{ID: "n4", Addr: testnet.FreeAddr(t)})
	c.dirs = append(c.dirs, filepath.Join(t.TempDir(), "n4"))
	c.nodes = append(c.nodes, nil)
	c.start(3)
	joined := time.Now()
	if err := l.Join("n4", c.peers[3].Addr); err != nil {
		t.Fatal(err)
	}
	c.converge(lsn)
	st := c.nodes[3].Status()
	if st.InstalledSnapshots == 0 {
		t.Fatalf("the new node caught up without a snapshot: %+v", st)
	}
	t.Logf("%d transactions written in %v; the new node caught up in %v (snapshot + log)", lsn, built.Round(time.Second), time.Since(joined).Round(time.Millisecond))
}
