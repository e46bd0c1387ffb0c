package main

// Replicated calls (issue 14): three cluster nodes in this process on
// loopback TCP (hashicorp/raft, BoltDB logs on the disk under test), the
// bank workload, against the same runtime alone with sync=always; the
// failover time; and how fast a new node catches up, from the raft log and
// from a snapshot. rqlite is not measured: no version of
// github.com/rqlite/rqlite/v8 builds from the module proxy here, and v9's
// licence is not open source (../.library/env/packages/go-partial.tsv).

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/interstice/interstice/cluster"
	"github.com/interstice/interstice/row"
)

func init() { register("cluster/replicated", benchCluster) }

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer l.Close()
	return l.Addr().String()
}

// benchNodes starts n nodes under dir (the first bootstraps them all) and
// returns them with their configurations (to restart one).
func benchNodes(dir string, n int, snapEvery uint64) ([]*cluster.Node, []cluster.Config) {
	var peers []cluster.Peer
	for i := 0; i < n; i++ {
		peers = append(peers, cluster.Peer{ID: fmt.Sprintf("n%d", i+1), Addr: freePort()})
	}
	var nodes []*cluster.Node
	var cfgs []cluster.Config
	for i, p := range peers {
		cfg := cluster.Config{ID: p.ID, Dir: filepath.Join(dir, p.ID), RaftAddr: p.Addr, SnapshotThreshold: snapEvery, TrailingLogs: snapEvery / 2}
		if i == 0 {
			cfg.Bootstrap = peers
		}
		nd, err := cluster.Open(cfg)
		must(err)
		nodes, cfgs = append(nodes, nd), append(cfgs, cfg)
	}
	return nodes, cfgs
}

func benchLeader(nodes []*cluster.Node) *cluster.Node {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, n := range nodes {
			if n != nil && n.IsLeader() {
				return n
			}
		}
	}
	fatal(fmt.Errorf("cluster bench: no leader within 30 s"))
	return nil
}

func closeNodes(nodes []*cluster.Node) {
	for _, n := range nodes {
		if n != nil {
			n.Close()
		}
	}
}

// clusterBank loads the bank module through the leader and opens the
// accounts.
func clusterBank(l *cluster.Node, wasm []byte) {
	_, err := l.LoadModule(wasm)
	must(err)
	for i := 0; i < bankAccounts; i++ {
		_, err := l.Call(context.Background(), "bank", "open", row.MustEncode(bankAccount(i), int64(1)<<40))
		must(err)
	}
}

func clusterTransfer(n *cluster.Node, id uint64) error {
	from, to := bankPair(id)
	_, err := n.Call(context.Background(), "bank", "transfer", row.MustEncode(id, from, to, int64(1)))
	return err
}

// replicatedCalls makes n transfers from `callers` goroutines on a fresh
// three-node cluster and returns calls/s.
func replicatedCalls(dir string, wasm []byte, n, callers int) Figure {
	defer os.RemoveAll(dir)
	nodes, _ := benchNodes(dir, 3, 0)
	defer closeNodes(nodes)
	l := benchLeader(nodes)
	clusterBank(l, wasm)
	el := spread(n, callers, func(id uint64) {
		if err := clusterTransfer(l, id); err != nil {
			fatal(err)
		}
	})
	return Figure{Name: fmt.Sprintf("3-node cluster, durable transfers, %d client(s)", callers), Value: rate(n, el), Unit: "calls/s"}
}

// failover stops the leader of a running cluster (Node.Close: no
// handoff) and times until a transfer is acknowledged by the new leader;
// the median of `trials`.
func failover(dir string, wasm []byte, trials int) Figure {
	defer os.RemoveAll(dir)
	nodes, cfgs := benchNodes(dir, 3, 0)
	defer func() { closeNodes(nodes) }()
	clusterBank(benchLeader(nodes), wasm)
	var ds []time.Duration
	id := uint64(1)
	for t := 0; t < trials; t++ {
		l := benchLeader(nodes)
		k := 0
		for i := range nodes {
			if nodes[i] == l {
				nodes[i], k = nil, i
			}
		}
		start := time.Now()
		l.Close()
		for {
			n := benchLeader(nodes)
			id++
			if clusterTransfer(n, id) == nil {
				break
			}
		}
		ds = append(ds, time.Since(start))
		var err error
		nodes[k], err = cluster.Open(cfgs[k]) // back, as a follower, for the next trial
		must(err)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	d := ds[len(ds)/2]
	return Figure{Name: "leader stopped → first acknowledged write on the new leader", Value: float64(d.Milliseconds()), Unit: "ms",
		Note: fmt.Sprintf("median of %d (%v); raft's default 1 s heartbeat and election timeouts", trials, ds)}
}

// catchUp builds a cluster holding k transfers, then adds a node and times
// until it applied them all: from the raft log (no snapshot taken), or by
// installing a snapshot (raft snapshots every 1000 entries). It returns
// records applied per second.
func catchUp(dir string, wasm []byte, k int, bySnapshot bool) Figure {
	defer os.RemoveAll(dir)
	var every uint64
	if bySnapshot {
		every = 1000
	}
	nodes, _ := benchNodes(dir, 3, every)
	defer func() { closeNodes(nodes) }()
	l := benchLeader(nodes)
	clusterBank(l, wasm)
	spread(k, 16, func(id uint64) {
		if err := clusterTransfer(l, id); err != nil {
			fatal(err)
		}
	})
	last := l.Status().AppliedLSN
	addr := freePort()
	start := time.Now()
	nn, err := cluster.Open(cluster.Config{ID: "n4", Dir: filepath.Join(dir, "n4"), RaftAddr: addr, SnapshotThreshold: every, TrailingLogs: every / 2})
	must(err)
	nodes = append(nodes, nn)
	must(l.Join("n4", addr))
	for nn.Status().AppliedLSN < last {
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	how := "the raft log"
	if bySnapshot {
		how = "a snapshot, then the log"
		if nn.Status().InstalledSnapshots == 0 {
			fatal(fmt.Errorf("cluster bench: the new node installed no snapshot"))
		}
	}
	return Figure{Name: "new node catching up from " + how, Value: float64(last) / el.Seconds(), Unit: "records/s",
		Note: fmt.Sprintf("%d records (%d transfers, 5 mutations each) in %s", last, k, el.Round(time.Millisecond))}
}

func benchCluster(cfg config) []Result {
	n, k := 2000, 5000
	if cfg.quick {
		n, k = 200, 500
	}
	wasm := buildGuest(cfg.dir, "examples/bank")
	rep1 := replicatedCalls(filepath.Join(cfg.dir, "cl1"), wasm, n/4, 1)
	one1, _, _ := bankCalls(filepath.Join(cfg.dir, "one1"), wasm, n/4, 1)
	rep16 := replicatedCalls(filepath.Join(cfg.dir, "cl16"), wasm, n, 16)
	one16, _, _ := bankCalls(filepath.Join(cfg.dir, "one16"), wasm, n, 16)
	fo := failover(filepath.Join(cfg.dir, "fo"), wasm, 3)
	log := catchUp(filepath.Join(cfg.dir, "cu-log"), wasm, k, false)
	snap := catchUp(filepath.Join(cfg.dir, "cu-snap"), wasm, k, true)
	return []Result{
		{Name: "replicated transfers, 1 client: 3 nodes vs 1 node sync=always", Ours: rep1, Peer: one1, Target: 0},
		{Name: "replicated transfers, 16 clients: 3 nodes vs 1 node sync=always", Ours: rep16, Peer: one16, Target: 0},
		{Name: "failover time (informative; no peer measured)", Ours: fo, Peer: Figure{Name: "raft election timeout", Value: 1000, Unit: "ms"}, Target: 0},
		{Name: "catch-up of a new node: from a snapshot vs from the raft log", Ours: snap, Peer: log, Target: 0},
	}
}
