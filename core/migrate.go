package core

import (
	"context"
	"fmt"

	"github.com/google/btree"

	"github.com/interstice/interstice/core/internal/store"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// upgradePlan is a checked upgrade of a loaded module to a new version:
// the new module's tables, with ids and trees assigned (shared with the
// old table when its columns are unchanged, rewritten with the added
// columns' defaults otherwise).
type upgradePlan struct {
	old, new *module
	dropped  []*table // old tables the new version no longer declares (all empty)
	nextID   int      // ids of added tables start here
}

// planUpgrade checks the compatibility rules of docs/MIGRATIONS.md and
// prepares the new version's tables. It changes no runtime state.
func (r *Runtime) planUpgrade(old, m *module) (*upgradePlan, error) {
	bad := func(tbl, col, format string, args ...any) error {
		return &Error{Code: CodeIncompatible, Module: m.info.Name, Table: tbl, Column: col,
			Msg: fmt.Sprintf("upgrade from %s to %s: ", old.info.Version, m.info.Version) + fmt.Sprintf(format, args...)}
	}
	p := &upgradePlan{old: old, new: m, nextID: len(r.tables)}
	for _, ot := range old.tables {
		nt := m.tableByName[ot.name]
		if nt == nil {
			if n := ot.Tree.Len(); n > 0 {
				return nil, bad(ot.name, "", "table removed but it holds %d rows (delete them in an earlier version first)", n)
			}
			if who := r.subscriberOf(old, ot); who != "" {
				return nil, bad(ot.name, "", "table removed but module %s subscribes to it", who)
			}
			p.dropped = append(p.dropped, ot)
			continue
		}
		oc, nc := ot.info.Columns, nt.info.Columns
		for i, c := range oc {
			if i >= len(nc) {
				return nil, bad(ot.name, c.Name, "column removed (columns can only be added at the end)")
			}
			if nc[i].Name != c.Name {
				for _, x := range nc {
					if x.Name == c.Name {
						return nil, bad(ot.name, c.Name, "column moved from position %d (columns cannot be reordered)", i)
					}
				}
				return nil, bad(ot.name, c.Name, "column removed or renamed (new column %d is %q)", i, nc[i].Name)
			}
			if nc[i].Type.String() != c.Type.String() {
				return nil, bad(ot.name, c.Name, "column type changed from %s to %s", c.Type, nc[i].Type)
			}
		}
		if ot.pk != nt.pk {
			return nil, bad(ot.name, oc[ot.pk].Name, "primary key changed from %s to %s", oc[ot.pk].Name, nc[nt.pk].Name)
		}
		if ot.public && !nt.public {
			if who := r.subscriberOf(old, ot); who != "" {
				return nil, bad(ot.name, "", "table made private but module %s subscribes to it", who)
			}
		}
		var defaults []any
		for _, c := range nc[len(oc):] {
			switch {
			case c.HasDefault:
				defaults = append(defaults, c.Default)
			case c.Type.Optional:
				defaults = append(defaults, nil)
			default:
				return nil, bad(ot.name, c.Name, "column added without a default value (declare one, or make it optional)")
			}
		}
		nt.ID = ot.ID
		if len(defaults) == 0 || ot.Tree.Len() == 0 {
			if len(defaults) == 0 {
				nt.Tree = ot.Tree
			}
			continue
		}
		tree, err := rewriteRows(ot, defaults)
		if err != nil {
			return nil, bad(ot.name, "", "%v", err)
		}
		nt.Tree = tree
	}
	for i, nt := range m.tables {
		if old.tableByName[nt.name] == nil {
			nt.ID = p.nextID + i
		}
	}
	if err := r.checkSubs(m, old); err != nil {
		return nil, err
	}
	return p, nil
}

// subscriberOf names a module other than owner that subscribes to t.
func (r *Runtime) subscriberOf(owner *module, t *table) string {
	for _, m := range r.order {
		if m == owner {
			continue
		}
		for _, s := range m.info.Subscriptions {
			if s.Module == owner.info.Name && s.Table == t.name {
				return m.info.Name
			}
		}
	}
	return ""
}

// rewriteRows returns a new tree with every row of t extended by defaults
// (deterministic: the same rows and defaults give the same bytes).
func rewriteRows(t *table, defaults []any) (*btree.BTreeG[entry], error) {
	tree := store.NewTree()
	rows := make([]entry, 0, t.Tree.Len())
	var err error
	t.Tree.Ascend(func(e entry) bool {
		var vals []any
		if vals, err = row.Decode(e.Row); err != nil {
			return false
		}
		var buf []byte
		if buf, err = row.Encode(append(vals, defaults...)); err != nil {
			return false
		}
		rows = append(rows, store.NewEntry([]byte(e.Key), buf))
		return true
	})
	if err != nil {
		return nil, err
	}
	store.BulkLoad(tree, rows) // in key order, as Ascend gave them
	return tree, nil
}

// installUpgradeLocked puts a planned upgrade in force (stateMu held for
// writing, or no readers yet during Open).
func (r *Runtime) installUpgradeLocked(p *upgradePlan, lsn uint64) {
	old, m := p.old, p.new
	for _, nt := range m.tables {
		if ot := old.tableByName[nt.name]; ot != nil {
			r.tables[nt.ID] = nt
			nt.hooks.p.Store(ot.hooks.p.Load())
		} else {
			for len(r.tables) <= nt.ID {
				r.tables = append(r.tables, nil)
			}
			r.tables[nt.ID] = nt
		}
	}
	for _, ot := range p.dropped {
		r.tables[ot.ID] = nil
	}
	r.modules[m.info.Name] = m
	for i, x := range r.order {
		if x == old {
			r.order[i] = m
		}
	}
	// Other modules' handles may point at the old tables: resolve again.
	for _, x := range r.order {
		for _, h := range x.handles {
			if h.t != nil && h.t.mod == old {
				h.t = nil
			}
		}
	}
	r.versions[m.info.Name] = append(r.versions[m.info.Name], SchemaVersion{LSN: lsn, Version: m.info.Version, WasmSHA256: m.info.WasmSHA256, Schema: m.schema})
	r.rebuildSubsLocked()
	if old.inst != nil && old.inst.mod != nil {
		old.inst.mod.Close(context.Background())
		old.inst = nil
	}
}

// upgradeLocked upgrades old to m live (execMu held): check, run the
// migration reducer if any in the upgrade's transaction, commit one
// ModuleLoad record carrying the migration's mutations, install.
func (r *Runtime) upgradeLocked(old, m *module) error {
	p, err := r.planUpgrade(old, m)
	if err != nil {
		return err
	}
	x := r.tx
	x.lsn, x.ts = r.commit.next()
	rec := &r.rec
	*rec = txn{LSN: x.lsn, Timestamp: x.ts, Kind: fb.TxKindModuleLoad, Module: m.info.Name,
		ModuleRecord: &moduleRecord{Name: m.info.Name, Version: m.info.Version, Schema: m.schema, WasmSHA256: append([]byte(nil), m.info.WasmSHA256[:]...)}}
	if mig := m.info.Migration; mig != "" {
		red := m.reducerByName[mig]
		if err := r.execute(context.Background(), red, emptyArgs, x); err != nil {
			x.reset()
			*rec = txn{}
			return &Error{Code: CodeOf(err), Module: m.info.Name, Reducer: mig,
				Msg: fmt.Sprintf("migration to %s failed; the upgrade is rolled back and %s stays loaded", m.info.Version, old.info.Version), Err: err}
		}
		rec.Reducer = mig
		rec.Args = emptyArgs
		rec.Mutations = x.Muts
	}
	if err := r.commit.commit(rec); err != nil {
		x.reset()
		*rec = txn{}
		return &Error{Code: logCode(err), Module: m.info.Name, Msg: "commit of module upgrade", Err: err}
	}
	r.lastTS = x.ts
	r.stateMu.Lock()
	r.installUpgradeLocked(p, x.lsn)
	x.Apply()
	r.stateMu.Unlock()
	*rec = txn{}
	x.reset()
	return nil
}

var emptyArgs = row.MustEncode()
