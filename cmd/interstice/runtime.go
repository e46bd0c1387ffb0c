package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func init() {
	register(command{"load", "DIR FILE.wasm", "load (or upgrade) a module into a data directory", cmdLoad})
	register(command{"call", "DIR MODULE REDUCER [JSON]", "call a reducer durably (exit 0 once acknowledged); JSON args as an array or object", cmdCall})
	register(command{"tables", "DIR [--json]", "replay (read-only) and list modules, tables and row counts", cmdTables})
	register(command{"scan", "DIR MODULE TABLE [--json]", "replay (read-only) and print a table's rows", cmdScan})
	register(command{"snapshot", "DIR", "replay and write a snapshot at the last LSN", cmdSnapshot})
}

// openDir opens the runtime on a data directory. Read-only opens never
// write and take no lock; they show a progress bar while replaying.
func openDir(dir string, readOnly bool) (*core.Runtime, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	prog, done := progress("replay")
	defer done()
	cfg := core.NewConfig().WithDataDir(dir).WithProgress(prog)
	if readOnly {
		cfg = cfg.WithRecovery(persistence.RecoverReadOnly)
	}
	return core.Open(cfg)
}

func cmdLoad(stdout io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("load", flag.ContinueOnError), args, "DIR", "FILE.wasm")
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pos[0], 0o755); err != nil {
		return err
	}
	rt, err := openDir(pos[0], false)
	if err != nil {
		return err
	}
	info, err := rt.LoadModule(wasm)
	if err != nil {
		rt.Close()
		return err
	}
	lsn := rt.LastLSN()
	fmt.Fprintf(stdout, "loaded %s %s (%d tables, %d reducers) at lsn %d\n", info.Name, info.Version, len(info.Tables), len(info.Reducers), lsn)
	return closeAfter(rt, fmt.Sprintf("module %s %s was loaded at lsn %d", info.Name, info.Version, lsn))
}

func cmdCall(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	var pos []string
	var err error
	if len(args) == 3 || (len(args) > 0 && len(args) < 3) {
		pos, err = parse(fs, args, "DIR", "MODULE", "REDUCER")
	} else {
		pos, err = parse(fs, args, "DIR", "MODULE", "REDUCER", "JSON")
	}
	if err != nil {
		return err
	}
	jsonArgs := "[]"
	if len(pos) == 4 {
		jsonArgs = pos[3]
	}
	rt, err := openDir(pos[0], false)
	if err != nil {
		return err
	}
	res, err := rt.CallJSON(context.Background(), pos[1], pos[2], []byte(jsonArgs))
	if err != nil {
		rt.Close()
		return err
	}
	fmt.Fprintf(stdout, "ok: lsn %d, %d mutation(s)\n", res.LSN, res.Mutations)
	for _, c := range res.Cascade {
		fmt.Fprintf(stdout, "  subscriber %+v\n", c)
	}
	if res.CascadeErr != nil {
		fmt.Fprintf(stdout, "  subscriber error: %v\n", res.CascadeErr)
	}
	return closeAfter(rt, fmt.Sprintf("the call was acknowledged at lsn %d", res.LSN))
}

func cmdTables(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("tables", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, "DIR")
	if err != nil {
		return err
	}
	rt, err := openDir(pos[0], true)
	if err != nil {
		return err
	}
	defer rt.Close()
	type tableOut struct {
		Module string `json:"module"`
		Table  string `json:"table"`
		Rows   int    `json:"rows"`
		Public bool   `json:"public"`
	}
	var out []tableOut
	for _, m := range rt.Modules() {
		for _, t := range m.Tables {
			n, err := rt.Count(m.Name, t.Name)
			if err != nil {
				return err
			}
			out = append(out, tableOut{m.Name, t.Name, n, t.Public})
		}
	}
	st := rt.ReplayStats()
	if *asJSON {
		return writeJSON(stdout, map[string]any{"last_lsn": st.LastLSN, "snapshot_lsn": st.SnapshotLSN, "tables": out})
	}
	fmt.Fprintf(stdout, "state at lsn %d (snapshot lsn %d + %d records, %d mutations replayed in %s)\n",
		st.LastLSN, st.SnapshotLSN, st.Records, st.Mutations, st.Duration.Round(time.Microsecond))
	for _, s := range st.SnapshotsSkipped {
		fmt.Fprintf(stdout, "skipped damaged snapshot: %s\n", s)
	}
	if st.TornTail {
		fmt.Fprintln(stdout, "the log has a torn tail (left in place: read-only); the next writable open truncates it")
	}
	for _, m := range rt.Modules() {
		fmt.Fprintf(stdout, "module %s %s\n", m.Name, m.Version)
		for _, t := range out {
			if t.Module == m.Name {
				vis := "private"
				if t.Public {
					vis = "public"
				}
				fmt.Fprintf(stdout, "  %-24s %8d rows  %s\n", t.Table, t.Rows, vis)
			}
		}
	}
	return nil
}

func cmdScan(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per row")
	pos, err := parse(fs, args, "DIR", "MODULE", "TABLE")
	if err != nil {
		return err
	}
	rt, err := openDir(pos[0], true)
	if err != nil {
		return err
	}
	defer rt.Close()
	var cols []string
	for _, m := range rt.Modules() {
		if m.Name != pos[1] {
			continue
		}
		for _, t := range m.Tables {
			if t.Name == pos[2] {
				for _, c := range t.Columns {
					cols = append(cols, c.Name)
				}
			}
		}
	}
	sc, err := rt.Scan(pos[1], pos[2], nil)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if !*asJSON {
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	for sc.Next() {
		if *asJSON {
			js, err := rt.RowJSON(pos[1], pos[2], sc.Row())
			if err != nil {
				return err
			}
			w.Write(append(js, '\n'))
			continue
		}
		line, err := tabular(sc.Row())
		if err != nil {
			return err
		}
		fmt.Fprintln(w, line)
	}
	return sc.Err()
}

// tabular renders a row's values as tab-separated JSON values.
func tabular(buf []byte) (string, error) {
	vals, err := row.Decode(buf)
	if err != nil {
		return "", err
	}
	var b []byte
	for i, v := range vals {
		if i > 0 {
			b = append(b, '\t')
		}
		b = row.AppendJSON(b, v)
	}
	return string(b), nil
}

func cmdSnapshot(stdout io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("snapshot", flag.ContinueOnError), args, "DIR")
	if err != nil {
		return err
	}
	rt, err := openDir(pos[0], false)
	if err != nil {
		return err
	}
	info, err := rt.Snapshot()
	if err != nil {
		rt.Close()
		return err
	}
	fmt.Fprintf(stdout, "snapshot %s at lsn %d: %d tables, %d rows, %d bytes\n", info.File, info.LSN, info.Tables, info.Rows, info.Bytes)
	for _, f := range info.Removed {
		fmt.Fprintf(stdout, "  removed %s\n", f)
	}
	return closeAfter(rt, fmt.Sprintf("snapshot %s was written", info.File))
}
