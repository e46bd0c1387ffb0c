package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// A raft snapshot of a node is the committed history it applied, as a
// stream of units (cluster/RATIONALE.md, "Why is a raft snapshot the
// node's log?"): each frame is a 4-byte little-endian length and a
// ClusterUnit flatbuffer (fbs/cluster.fbs). The first frame is a header:
// a unit without records whose first_lsn is the snapshot's last LSN and
// whose prev is the UnitHash of that record. Then come the records from
// LSN 1, in units of at most snapUnitRecords records, a module load alone
// in its unit with its wasm, each unit's prev the hash of the record
// before it. Installing one is applying those units (ApplyCommitted).
const snapUnitRecords = 512

// snapshot is an FSMSnapshot: the node's log up to lsn.
type snapshot struct {
	f   *fsm
	lsn uint64
}

// Snapshot captures the LSN the node applied; Persist reads the records
// from the node's own log, which holds only committed units, while Apply
// goes on appending after them.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &snapshot{f: f, lsn: f.applied()}, nil
}

func (s *snapshot) Release() {}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) write(w io.Writer) error {
	rt := s.f.runtime()
	dir := rt.LogDir()
	opts := record.LogOptions(persistence.Options{Recovery: persistence.RecoverReadOnly})
	last, err := rt.RecordHash(s.lsn)
	if err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	write := func(b []byte) error { // one frame: length, then the entry
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(b)))
		if _, err := bw.Write(n[:]); err != nil {
			return err
		}
		_, err := bw.Write(b)
		return err
	}
	frame := func(u core.Unit) error { return write(encodeUnit(u)) }
	if err := frame(core.Unit{FirstLSN: s.lsn, Prev: last}); err != nil {
		return err
	}
	// The members (HTTP addresses), as member entries after the header.
	var merr error
	s.f.members.Range(func(id, http any) bool {
		merr = write(encodeMember(member{id: id.(string), http: http.(string)}))
		return merr == nil
	})
	if merr != nil {
		return merr
	}
	if s.lsn > 0 {
		r, err := persistence.NewReader(dir, 1, opts)
		if err != nil {
			return fmt.Errorf("cluster: snapshot: %w", err)
		}
		defer r.Close()
		var u core.Unit
		var prev uint64
		flush := func() error {
			if len(u.Records) == 0 {
				return nil
			}
			err := frame(u)
			u = core.Unit{}
			return err
		}
		for r.Next() {
			rec := r.Record()
			if rec.LSN > s.lsn {
				break
			}
			payload := bytes.Clone(rec.Payload)
			wasm, err := moduleWasm(rt, payload)
			if err != nil {
				return err
			}
			if wasm != nil || len(u.Records) == snapUnitRecords {
				if err := flush(); err != nil {
					return err
				}
			}
			if len(u.Records) == 0 {
				u.FirstLSN, u.Prev = rec.LSN, prev
			}
			u.Records = append(u.Records, payload)
			u.Wasm = wasm
			prev = core.UnitHash(payload)
			if wasm != nil {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("cluster: snapshot: %w", err)
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// moduleWasm returns the wasm of a ModuleLoad record (nil for any other).
func moduleWasm(rt *core.Runtime, payload []byte) ([]byte, error) {
	t := record.View(payload)
	if t.Kind() != fb.TxKindModuleLoad {
		return nil, nil
	}
	var mr fb.ModuleRecord
	if t.ModuleRecord(&mr) == nil || len(mr.WasmSha256Bytes()) != 32 {
		return nil, fmt.Errorf("cluster: snapshot: lsn %d: a module load without its wasm hash", t.Lsn())
	}
	var sum [32]byte
	copy(sum[:], mr.WasmSha256Bytes())
	return rt.ModuleWasm(sum)
}

// Restore installs a snapshot: at startup (raft's newest) or from the
// leader (a node too far behind). If the node's own log already holds the
// snapshot's last record, its state includes the snapshot and stays;
// otherwise the runtime is rebuilt from the snapshot's units in a new data
// directory, which then replaces the old one.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	read := func() (core.Unit, bool, error) {
		var n [4]byte
		if _, err := io.ReadFull(br, n[:]); err == io.EOF {
			return core.Unit{}, false, nil
		} else if err != nil {
			return core.Unit{}, false, fmt.Errorf("cluster: snapshot: %w", err)
		}
		b := make([]byte, binary.LittleEndian.Uint32(n[:]))
		if _, err := io.ReadFull(br, b); err != nil {
			return core.Unit{}, false, fmt.Errorf("cluster: snapshot: %w", err)
		}
		if m, ok := decodeMember(b); ok {
			f.members.Store(m.id, m.http)
			return core.Unit{}, true, nil // applied here; no records
		}
		u, err := parseUnit(b, 0)
		return u, true, err
	}
	head, ok, err := read()
	if err != nil || !ok {
		return fmt.Errorf("cluster: snapshot without a header: %v", err)
	}
	rt := f.runtime()
	if rt.LastLSN() >= head.FirstLSN {
		if h, err := rt.RecordHash(head.FirstLSN); err == nil && h == head.Prev {
			for { // read on for the members; the units are in the log
				if _, ok, err := read(); err != nil || !ok {
					return err
				}
			}
		}
	}
	// Rebuild in data.new, then swap it in.
	data := filepath.Dir(rt.LogDir())
	fresh := data + ".new"
	os.RemoveAll(fresh)
	nrt, err := core.Open(f.cfg.WithDataDir(fresh))
	if err != nil {
		return fmt.Errorf("cluster: snapshot: open a new runtime: %w", err)
	}
	for {
		u, ok, err := read()
		if err == nil && ok && len(u.Records) > 0 {
			err = nrt.ApplyCommitted(u)
		}
		if err != nil {
			nrt.Close()
			os.RemoveAll(fresh)
			return fmt.Errorf("cluster: install snapshot: %w", err)
		}
		if !ok {
			break
		}
	}
	if got := nrt.LastLSN(); got != head.FirstLSN {
		nrt.Close()
		os.RemoveAll(fresh)
		return fmt.Errorf("cluster: install snapshot: it ends at lsn %d, its header says %d", got, head.FirstLSN)
	}
	nrt.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rt.Close()
	old := data + ".old"
	os.RemoveAll(old)
	if err := os.Rename(data, old); err != nil {
		return fmt.Errorf("cluster: install snapshot: %w", err)
	}
	if err := os.Rename(fresh, data); err != nil {
		return fmt.Errorf("cluster: install snapshot: %w", err)
	}
	os.RemoveAll(old)
	f.installed.Add(1)
	if rt, err = core.Open(f.cfg); err != nil {
		panic(fmt.Sprintf("cluster: node %s cannot open its runtime after installing a snapshot: %v", f.node.cfg.ID, err))
	}
	f.setLocked(rt)
	return nil
}
