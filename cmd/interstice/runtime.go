package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func init() {
	register(command{"load", "DIR FILE.wasm [--quiet]", "load (or upgrade) a module into a data directory", cmdLoad})
	register(command{"call", "DIR MODULE REDUCER [JSON] [--json] [--quiet]", "call a reducer durably (exit 0 once acknowledged); JSON args as an array or object", cmdCall})
	register(command{"describe", "DIR [MODULE] [--json]", "tables, columns, keys, reducers with parameters, subscriptions", cmdDescribe})
	register(command{"tables", "DIR [--json]", "replay (read-only) and list modules, tables and row counts", cmdTables})
	register(command{"get", "DIR MODULE TABLE KEY", "replay (read-only) and print one row as JSON", cmdGet})
	register(command{"scan", "DIR MODULE TABLE [--limit N] [--from KEY] [--json|--jsonl]", "replay (read-only) and print a table's rows", cmdScan})
	register(command{"snapshot", "DIR", "replay and write a snapshot at the last LSN", cmdSnapshot})
	register(command{"hash", "DIR [--json]", "replay (read-only) and print the state's SHA-256 at the last LSN (compare replicas and backups)", cmdHash})
}

// levelNames are the words guest log lines are printed with.
var levelNames = map[core.LogLevel]string{core.LogDebug: "debug", core.LogInfo: "info", core.LogWarn: "warn", core.LogError: "error"}

// guestLog returns a LogSink printing "module: level: message" lines on w.
func guestLog(w *lockedWriter) core.LogSink {
	return func(module string, level core.LogLevel, msg string) {
		lvl, ok := levelNames[level]
		if !ok {
			lvl = fmt.Sprintf("level %d", level)
		}
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
			fmt.Fprintf(&b, "%s: %s: %s\n", module, lvl, line)
		}
		w.write(b.String())
	}
}

type lockedWriter struct {
	mu sync.Mutex
	e  env
}

func (l *lockedWriter) write(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprint(l.e.stderr, s)
}

// openMode says how a command opens a data directory.
type openMode struct {
	readOnly bool // replay only: no write, no lock, a torn tail left in place
	create   bool // a missing data directory is created (load)
	quiet    bool // guest log lines are dropped rather than printed on stderr
}

// openDir opens the runtime on a data directory. Read-only opens never
// write and take no lock; every open shows a progress bar while
// replaying. A data directory that is damaged is exit 1, one that another
// process holds is said so, with the holder's pid.
func openDir(e env, dir string, mode openMode) (*core.Runtime, error) {
	if mode.create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if !mode.create {
		if st, err := os.Stat(filepath.Join(dir, "log")); err != nil || !st.IsDir() {
			hint := ""
			if ok, _ := hasSegments(dir); ok {
				hint = fmt.Sprintf(" (it is a log directory: the data directory is %s)", filepath.Dir(filepath.Clean(dir)))
			}
			return nil, fmt.Errorf("%s is not a data directory: it has no log/ subdirectory%s", dir, hint)
		}
	}
	prog, done := progressFor("replay")
	defer done()
	cfg := core.NewConfig().WithDataDir(dir).WithProgress(prog)
	if mode.readOnly {
		cfg = cfg.WithRecovery(persistence.RecoverReadOnly)
	}
	if !mode.quiet {
		cfg = cfg.WithLogSink(guestLog(&lockedWriter{e: e}))
	}
	rt, err := core.Open(cfg)
	if err != nil {
		return nil, openErr(dir, err)
	}
	return rt, nil
}

// openErr turns the errors of opening a data directory that an operator
// acts on into their own words: damage (exit 1) and a held lock.
func openErr(dir string, err error) error {
	switch {
	case errors.Is(err, core.ErrLocked):
		return fmt.Errorf("data directory %s is in use: %s", dir, persistenceMsg(err))
	case errors.Is(err, core.ErrCorrupt), errors.Is(err, core.ErrTornTail):
		logd := filepath.Join(dir, "log")
		return damagedError{fmt.Sprintf("the log of %s is damaged: %s (see 'interstice log validate %s' and docs/RECOVERY.md)", dir, persistenceMsg(err), logd)}
	}
	return err
}

// persistenceMsg is the message of the persistence error inside err (it
// names segment and offset; core's wrapping adds its class's name).
func persistenceMsg(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "persistence: ") {
			return e.Error()
		}
	}
	return err.Error()
}

func findModule(rt *core.Runtime, dir, name string) (*core.ModuleInfo, error) {
	var have []string
	for _, m := range rt.Modules() {
		if m.Name == name {
			return m, nil
		}
		have = append(have, m.Name)
	}
	return nil, fmt.Errorf("%s has no module %q; modules: %s", dir, name, names(have))
}

func findTable(m *core.ModuleInfo, name string) (*core.TableInfo, error) {
	var have []string
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i], nil
		}
		have = append(have, m.Tables[i].Name)
	}
	return nil, fmt.Errorf("module %s has no table %q; tables: %s", m.Name, name, names(have))
}

func findReducer(m *core.ModuleInfo, name string) (*core.ReducerInfo, error) {
	var have []string
	for i := range m.Reducers {
		if m.Reducers[i].Name == name {
			return &m.Reducers[i], nil
		}
		have = append(have, signature(&m.Reducers[i]))
	}
	return nil, fmt.Errorf("module %s has no reducer %q; reducers: %s", m.Name, name, names(have))
}

// signature renders "add(name string, by int64)".
func signature(r *core.ReducerInfo) string {
	ps := make([]string, len(r.Params))
	for i, p := range r.Params {
		ps[i] = p.Name + " " + p.Type.String()
	}
	return r.Name + "(" + strings.Join(ps, ", ") + ")"
}

// lookup opens dir read-only and finds module.table in it.
func lookup(e env, dir, module, table string) (*core.Runtime, *core.TableInfo, error) {
	rt, err := openDir(e, dir, openMode{readOnly: true})
	if err != nil {
		return nil, nil, err
	}
	noteTornTail(e, rt)
	m, err := findModule(rt, dir, module)
	if err == nil {
		var t *core.TableInfo
		if t, err = findTable(m, table); err == nil {
			return rt, t, nil
		}
	}
	rt.Close()
	return nil, nil, err
}

// noteTornTail says on stderr that a read-only replay left a torn tail in
// place. It is not damage to acknowledged data (the torn record was never
// acknowledged), so the read's exit status does not change.
func noteTornTail(e env, rt *core.Runtime) {
	if rt.ReplayStats().TornTail {
		fmt.Fprintln(e.stderr, "interstice: note: the log has a torn tail (an unacknowledged record, left in place: read-only); the next writable open truncates it")
	}
}

// parseKey reads a primary key given on the command line: a JSON value of
// the key's type, or for a string key also the bare string (hits for "hits").
func parseKey(t *core.TableInfo, s string) (any, error) {
	kt := t.Columns[t.PrimaryKey].Type
	v, err := row.ParseJSONValue([]byte(s), kt)
	if err != nil && kt.Kind == fb.ValueTypeString && !json.Valid([]byte(s)) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key %s of table %s: want a %s (%s): %v", s, t.Name, kt, t.Columns[t.PrimaryKey].Name, err)
	}
	return v, nil
}

func cmdLoad(e env, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "do not print guest log lines on stderr")
	pos, err := parse(fs, args, []string{"DIR", "FILE.wasm"})
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	rt, err := openDir(e, pos[0], openMode{create: true, quiet: *quiet})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(wasm)
	before := map[string]*core.ModuleInfo{}
	for _, m := range rt.Modules() {
		before[m.Name] = m
	}
	info, err := rt.LoadModule(wasm)
	if err != nil {
		rt.Close()
		return err
	}
	lsn := rt.LastLSN()
	if old := before[info.Name]; old != nil && old.Version == info.Version && old.WasmSHA256 == sum {
		fmt.Fprintf(e.stdout, "%s %s is already loaded (the same code): nothing to do\n", info.Name, info.Version)
		return closeAfter(rt, fmt.Sprintf("module %s %s is loaded", info.Name, info.Version))
	}
	what := "loaded"
	if old := before[info.Name]; old != nil {
		what = "upgraded " + old.Version + " to"
	}
	fmt.Fprintf(e.stdout, "%s %s %s (%s, %s) at lsn %d\n", what, info.Name, info.Version,
		plural(int64(len(info.Tables)), "table", "tables"), plural(int64(len(info.Reducers)), "reducer", "reducers"), lsn)
	return closeAfter(rt, fmt.Sprintf("module %s %s was loaded at lsn %d", info.Name, info.Version, lsn))
}

func cmdCall(e env, args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	quiet := fs.Bool("quiet", false, "do not print guest log lines on stderr")
	pos, err := parse(fs, args, []string{"DIR", "MODULE", "REDUCER"}, "JSON")
	if err != nil {
		return err
	}
	jsonArgs := "[]"
	if len(pos) == 4 {
		jsonArgs = pos[3]
	}
	rt, err := openDir(e, pos[0], openMode{quiet: *quiet})
	if err != nil {
		return err
	}
	m, err := findModule(rt, pos[0], pos[1])
	if err == nil {
		_, err = findReducer(m, pos[2])
	}
	if err != nil {
		rt.Close()
		return err
	}
	res, err := rt.CallJSON(context.Background(), pos[1], pos[2], []byte(jsonArgs))
	if err != nil {
		rt.Close()
		return err
	}
	if *asJSON {
		if err := writeJSON(e.stdout, res); err != nil {
			rt.Close()
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "ok: lsn %d, %s\n", res.LSN, plural(int64(res.Mutations), "mutation", "mutations"))
		for _, c := range res.Cascade {
			outcome := fmt.Sprintf("lsn %d", c.LSN)
			switch {
			case c.Err != nil:
				outcome = "failed: " + core.ErrorText(c.Err)
			case c.LSN == 0:
				outcome = "changed nothing"
			}
			fmt.Fprintf(e.stdout, "  subscriber %s.%s (depth %d): %s\n", c.Module, c.Reducer, c.Depth, outcome)
		}
		if res.CascadeErr != nil {
			fmt.Fprintf(e.stdout, "  subscriber error: %s\n", core.ErrorText(res.CascadeErr))
		}
	}
	return closeAfter(rt, fmt.Sprintf("the call was acknowledged at lsn %d", res.LSN))
}

func cmdDescribe(e env, args []string) error {
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, []string{"DIR"}, "MODULE")
	if err != nil {
		return err
	}
	rt, err := openDir(e, pos[0], openMode{readOnly: true})
	if err != nil {
		return err
	}
	defer rt.Close()
	mods := rt.Modules()
	if len(pos) == 2 {
		m, err := findModule(rt, pos[0], pos[1])
		if err != nil {
			return err
		}
		mods = []*core.ModuleInfo{m}
	}
	if *asJSON {
		out := struct {
			Modules []schemaOut `json:"modules"`
		}{[]schemaOut{}}
		for _, m := range mods {
			out.Modules = append(out.Modules, schemaOf(m))
		}
		return writeJSON(e.stdout, out)
	}
	if len(mods) == 0 {
		fmt.Fprintf(e.stdout, "%s holds no modules (interstice load %s FILE.wasm)\n", pos[0], pos[0])
	}
	w := e.stdout
	for i, m := range mods {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "module %s %s\n", m.Name, m.Version)
		if m.Migration != "" {
			fmt.Fprintf(w, "  migration reducer: %s\n", m.Migration)
		}
		for _, t := range m.Tables {
			vis := "private"
			if t.Public {
				vis = "public"
			}
			fmt.Fprintf(w, "  table %s (%s)\n", t.Name, vis)
			for j, c := range t.Columns {
				note := ""
				if j == t.PrimaryKey {
					note = "  primary key"
				}
				if c.HasDefault {
					note += "  default " + string(row.AppendJSON(nil, c.Default))
				}
				fmt.Fprintf(w, "    %-20s %s%s\n", c.Name, c.Type, note)
			}
		}
		for i := range m.Reducers {
			fmt.Fprintf(w, "  reducer %s\n", signature(&m.Reducers[i]))
		}
		for _, s := range m.Subscriptions {
			fmt.Fprintf(w, "  subscription: %s runs on each %s of %s.%s\n", s.Reducer, s.Event, s.Module, s.Table)
		}
	}
	return nil
}

// openJSONReader parses "DIR [--json]" for command name and opens DIR
// read-only (replay: no write, no lock).
func openJSONReader(e env, name string, args []string) (rt *core.Runtime, asJSON bool, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	js := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return nil, false, err
	}
	rt, err = openDir(e, pos[0], openMode{readOnly: true})
	return rt, *js, err
}

func cmdTables(e env, args []string) error {
	rt, asJSON, err := openJSONReader(e, "tables", args)
	if err != nil {
		return err
	}
	defer rt.Close()
	type tableRows struct {
		Module string `json:"module"`
		Table  string `json:"table"`
		Rows   int    `json:"rows"`
		Public bool   `json:"public"`
	}
	out := []tableRows{}
	for _, m := range rt.Modules() {
		for _, t := range m.Tables {
			n, err := rt.Count(m.Name, t.Name)
			if err != nil {
				return err
			}
			out = append(out, tableRows{m.Name, t.Name, n, t.Public})
		}
	}
	st := rt.ReplayStats()
	if asJSON {
		return writeJSON(e.stdout, map[string]any{"last_lsn": st.LastLSN, "snapshot_lsn": st.SnapshotLSN, "torn_tail": st.TornTail, "tables": out})
	}
	fmt.Fprintf(e.stdout, "state at lsn %d (snapshot lsn %d + %s, %s replayed in %s)\n",
		st.LastLSN, st.SnapshotLSN, plural(int64(st.Records), "record", "records"), plural(int64(st.Mutations), "mutation", "mutations"),
		st.Duration.Round(time.Microsecond))
	for _, s := range st.SnapshotsSkipped {
		fmt.Fprintf(e.stdout, "skipped damaged snapshot: %s\n", s)
	}
	if st.TornTail {
		fmt.Fprintln(e.stdout, "the log has a torn tail (left in place: read-only); the next writable open truncates it")
	}
	for _, m := range rt.Modules() {
		fmt.Fprintf(e.stdout, "module %s %s\n", m.Name, m.Version)
		for _, t := range out {
			if t.Module == m.Name {
				vis := "private"
				if t.Public {
					vis = "public"
				}
				word := "rows"
				if t.Rows == 1 {
					word = "row"
				}
				fmt.Fprintf(e.stdout, "  %-24s %8d %-4s  %s\n", t.Table, t.Rows, word, vis)
			}
		}
	}
	return nil
}

func cmdGet(e env, args []string) error {
	pos, err := parse(flag.NewFlagSet("get", flag.ContinueOnError), args, []string{"DIR", "MODULE", "TABLE", "KEY"})
	if err != nil {
		return err
	}
	rt, t, err := lookup(e, pos[0], pos[1], pos[2])
	if err != nil {
		return err
	}
	defer rt.Close()
	key, err := parseKey(t, pos[3])
	if err != nil {
		return err
	}
	buf, found, err := rt.Get(pos[1], pos[2], key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%s.%s has no row with %s %s", pos[1], pos[2], t.Columns[t.PrimaryKey].Name, row.AppendJSON(nil, key))
	}
	js, err := rt.RowJSON(pos[1], pos[2], buf)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(append(js, '\n'))
	return err
}

func cmdScan(e env, args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the rows as one JSON array of objects")
	asJSONL := fs.Bool("jsonl", false, "print one JSON object per row per line")
	limit := fs.Int("limit", 0, "print at most N rows (0: all)")
	from := fs.String("from", "", "start at this primary key (JSON, or a bare string for a string key)")
	pos, err := parse(fs, args, []string{"DIR", "MODULE", "TABLE"})
	if err != nil {
		return err
	}
	if *asJSON && *asJSONL {
		return usagef("scan: --json and --jsonl exclude each other")
	}
	if *limit < 0 {
		return usagef("scan: --limit %d: want a count >= 0", *limit)
	}
	rt, t, err := lookup(e, pos[0], pos[1], pos[2])
	if err != nil {
		return err
	}
	defer rt.Close()
	// The rows to print: the one at --from (if any), then those after it.
	var first []byte
	var after any
	if *from != "" {
		if after, err = parseKey(t, *from); err != nil {
			return err
		}
		if b, found, err := rt.Get(pos[1], pos[2], after); err != nil {
			return err
		} else if found {
			first = b
		}
	}
	sc, err := rt.Scan(pos[1], pos[2], after)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	var list *jsonList
	if *asJSON || *asJSONL {
		list = newJSONList(w, *asJSONL)
	} else {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	n := 0
	emit := func(buf []byte) error {
		if *asJSON || *asJSONL {
			js, err := rt.RowJSON(pos[1], pos[2], buf)
			if err != nil {
				return err
			}
			list.add(js)
		} else {
			line, err := tabular(buf)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, line)
		}
		n++
		return nil
	}
	if first != nil && (*limit == 0 || n < *limit) {
		if err := emit(first); err != nil {
			return err
		}
	}
	for (*limit == 0 || n < *limit) && sc.Next() {
		if err := emit(sc.Row()); err != nil {
			return err
		}
	}
	if list != nil {
		list.end()
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

// cmdHash prints core.Runtime.StateHash: the LSN and the SHA-256 of the
// modules and rows after it.
func cmdHash(e env, args []string) error {
	rt, asJSON, err := openJSONReader(e, "hash", args)
	if err != nil {
		return err
	}
	defer rt.Close()
	lsn, sum, err := rt.StateHash()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, map[string]any{"lsn": lsn, "sha256": fmt.Sprintf("%x", sum)})
	}
	fmt.Fprintf(e.stdout, "lsn %d sha256 %x\n", lsn, sum)
	return nil
}

func cmdSnapshot(e env, args []string) error {
	pos, err := parse(flag.NewFlagSet("snapshot", flag.ContinueOnError), args, []string{"DIR"})
	if err != nil {
		return err
	}
	rt, err := openDir(e, pos[0], openMode{})
	if err != nil {
		return err
	}
	info, err := rt.Snapshot()
	if err != nil {
		rt.Close()
		return err
	}
	switch {
	case info.File == "" && info.LSN == 0:
		fmt.Fprintf(e.stdout, "%s holds no transactions: no snapshot written\n", pos[0])
		return closeAfter(rt, "the data directory was opened")
	case info.File == "":
		fmt.Fprintf(e.stdout, "the snapshot at lsn %d is current (nothing was committed since): no snapshot written\n", info.LSN)
		return closeAfter(rt, "the data directory was opened")
	}
	fmt.Fprintf(e.stdout, "snapshot %s at lsn %d: %s, %s, %d bytes\n", info.File, info.LSN,
		plural(int64(info.Tables), "table", "tables"), plural(info.Rows, "row", "rows"), info.Bytes)
	for _, f := range info.Removed {
		fmt.Fprintf(e.stdout, "  removed %s\n", f)
	}
	return closeAfter(rt, fmt.Sprintf("snapshot %s was written", info.File))
}
