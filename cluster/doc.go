// Package cluster runs an Interstice runtime as one node of a replicated
// cluster on hashicorp/raft: the leader runs reducers, and every node, the
// leader included, applies the committed units (a call with its cascade,
// or a module load with its wasm) through the runtime's replay path, so
// followers never run WASM (cluster/RATIONALE.md).
//
// A call is acknowledged once its unit is committed by a majority of the
// voters and applied by the leader. The raft log (BoltDB) is the durable
// write-ahead log; each node's own Interstice log is written from applied
// units without an fdatasync of its own, and at restart the node replays
// it and then takes the raft log's later entries.
//
// Node.Handler is the HTTP/JSON API that `interstice serve` runs
// (docs/CLUSTER.md). This is the first part of issue 14: the replication,
// membership at bootstrap and by Join/Remove, leader transfer, local and
// linearizable reads, state hashes, raft snapshots (a node's committed
// history as units) with catch-up by snapshot install, forwarding of
// writes by followers. Compaction of each node's own log is still to come.
package cluster
