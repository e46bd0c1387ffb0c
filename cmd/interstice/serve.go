package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/interstice/interstice/cluster"
	"github.com/interstice/interstice/core"
)

func init() {
	register(command{"serve", "DIR --node-id ID --raft-addr HOST:PORT --http-addr HOST:PORT [--bootstrap ID=HOST:PORT,...] [--join HTTP_ADDR] [--snapshot-threshold N] [--trailing-logs N]",
		"run a cluster node (cluster/, docs/CLUSTER.md): raft on --raft-addr, the HTTP/JSON API on --http-addr", cmdServe})
}

// cmdServe runs one cluster node until SIGINT or SIGTERM.
func cmdServe(e env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	id := fs.String("node-id", "", "the node's raft server ID, unique in the cluster")
	raftAddr := fs.String("raft-addr", "", "the address raft listens on")
	httpAddr := fs.String("http-addr", "", "the address the HTTP API listens on")
	bootstrap := fs.String("bootstrap", "", "a new cluster's first voters, ID=RAFT_ADDR,... (on one node, once)")
	join := fs.String("join", "", "the HTTP address of the leader to join (a node with no raft state)")
	snapEvery := fs.Uint64("snapshot-threshold", 0, "take a raft snapshot every N applied entries (0: 8192)")
	trailing := fs.Uint64("trailing-logs", 0, "raft log entries kept behind a snapshot (0: 10240)")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return err
	}
	if *id == "" || *raftAddr == "" || *httpAddr == "" {
		return usagef("serve: --node-id, --raft-addr and --http-addr are required")
	}
	cfg := cluster.Config{ID: *id, Dir: pos[0], RaftAddr: *raftAddr, SnapshotThreshold: *snapEvery, TrailingLogs: *trailing}
	if *bootstrap != "" {
		for _, p := range strings.Split(*bootstrap, ",") {
			pid, addr, ok := strings.Cut(p, "=")
			if !ok || pid == "" || addr == "" {
				return usagef("serve: --bootstrap wants ID=HOST:PORT,..., got %q", p)
			}
			cfg.Bootstrap = append(cfg.Bootstrap, cluster.Peer{ID: pid, Addr: addr})
		}
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve: http: %w", err)
	}
	cfg.HTTPAddr = ln.Addr().String()
	node, err := cluster.Open(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: node.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if *join != "" {
		if err := joinCluster(*join, *id, node.Addr()); err != nil {
			srv.Close()
			node.Close()
			return err
		}
	}
	fmt.Fprintf(e.stdout, "serving node %s: raft %s, http %s\n", *id, node.Addr(), ln.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-stop:
	case err = <-served:
	case <-node.Down():
		err = node.Err() // it stopped: a full disk, a failed write; the others go on
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if cerr := node.Close(); err == nil || errors.Is(err, http.ErrServerClosed) {
		err = cerr
	}
	return err
}

// joinCluster asks the node at httpAddr (the leader) to add this one as a
// voter, for up to 30 s.
func joinCluster(httpAddr, id, raftAddr string) error {
	u := "http://" + httpAddr + "/v1/join?id=" + url.QueryEscape(id) + "&addr=" + url.QueryEscape(raftAddr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(u, "application/json", nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return &core.Error{Code: core.CodeTimeout, Msg: fmt.Sprintf("serve: join through %s", httpAddr), Err: err}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
