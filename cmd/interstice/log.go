package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

func init() {
	register(command{"log validate", "DIR [--json]", "verify every record; exit 1 if the log is damaged", logValidate})
	register(command{"log inspect", "DIR [--json]", "LSN range, segments, counts per module/table/op; exit 1 if damaged", logInspect})
	register(command{"log dump", "DIR [--json|--jsonl] [--from LSN]", "print the records; exit 1 at damage", logDump})
	register(command{"log repair", "DIR [--dry-run] [--force]", "cut a torn tail (or, with --force, corruption), keeping the bytes in .broken files", logRepair})
	register(command{"log rotate", "DIR", "seal the active segment and start a new one; refused (exit 1) if damaged", logRotate})
}

// The JSON forms of persistence's reports: snake_case keys, no Go-only
// fields (a Problem's error value), [] rather than null for lists.
type (
	problemJSON struct {
		Segment string `json:"segment"`
		Offset  int64  `json:"offset"`
		LSN     uint64 `json:"lsn"`
		Reason  string `json:"reason"`
		Message string `json:"message"` // "segment S offset N lsn L: reason"
	}
	segmentJSON struct {
		Name      string `json:"name"`
		FirstLSN  uint64 `json:"first_lsn"` // from its header: the LSN its first record has or will have
		LastLSN   uint64 `json:"last_lsn"`  // 0 for an empty segment
		Records   int64  `json:"records"`
		Bytes     int64  `json:"bytes"`
		DataBytes int64  `json:"data_bytes"`
	}
	reportJSON struct {
		OK         bool          `json:"ok"`
		Segments   []segmentJSON `json:"segments"`
		Records    int64         `json:"records"`
		Bytes      int64         `json:"bytes"`
		ValidBytes int64         `json:"valid_bytes"`
		FirstLSN   uint64        `json:"first_lsn"` // 0 for an empty log
		LastLSN    uint64        `json:"last_lsn"`  // 0 for an empty log
		TempFiles  []string      `json:"temp_files"`
		TornTail   bool          `json:"torn_tail"`
		Torn       *problemJSON  `json:"torn"`
		Corruption *problemJSON  `json:"corruption"`
	}
	infoJSON struct {
		reportJSON
		Mutations int64            `json:"mutations"`
		ByKind    map[string]int64 `json:"by_kind"`
		ByModule  map[string]int64 `json:"by_module"`
		ByTable   map[string]int64 `json:"by_table"`
		ByOp      map[string]int64 `json:"by_op"`
	}
)

func problemOut(p *persistence.Problem) *problemJSON {
	if p == nil {
		return nil
	}
	return &problemJSON{p.Segment, p.Offset, p.LSN, p.Reason, p.String()}
}

func reportOut(r *persistence.Report) reportJSON {
	out := reportJSON{OK: r.OK(), Segments: []segmentJSON{}, Records: r.Records, Bytes: r.Bytes, ValidBytes: r.ValidBytes,
		FirstLSN: r.FirstLSN, LastLSN: r.LastLSN, TempFiles: append([]string{}, r.TempFiles...),
		TornTail: r.TornTail, Torn: problemOut(r.Torn), Corruption: problemOut(r.Problem)}
	for _, s := range r.Segments {
		sj := segmentJSON{s.Name, s.FirstLSN, s.LastLSN, s.Records, s.Bytes, s.DataBytes}
		if s.Records == 0 {
			sj.LastLSN = 0
		}
		out.Segments = append(out.Segments, sj)
	}
	return out
}

// lsnRange renders a range of LSNs for people: "1..5", "7", or "none".
func lsnRange(first, last uint64, records int64) string {
	switch {
	case records == 0:
		return "none"
	case first == last:
		return fmt.Sprint(first)
	}
	return fmt.Sprintf("%d..%d", first, last)
}

func logValidate(e env, args []string) error {
	fs := flag.NewFlagSet("log validate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return err
	}
	dir, err := logDir(pos[0])
	if err != nil {
		return err
	}
	prog, done := progressFor("validate")
	rep, err := persistence.Validate(dir, record.LogOptions(persistence.Options{Progress: prog}))
	done()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(e.stdout, reportOut(rep)); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "segments: %d\nrecords:  %d\nlsn:      %s\nbytes:    %d (valid %d)\n",
			len(rep.Segments), rep.Records, lsnRange(rep.FirstLSN, rep.LastLSN, rep.Records), rep.Bytes, rep.ValidBytes)
		fmt.Fprintf(e.stdout, "torn tail: %v\n", rep.TornTail)
		if rep.Torn != nil {
			fmt.Fprintf(e.stdout, "  %s\n", rep.Torn)
		}
		if rep.Problem != nil {
			fmt.Fprintf(e.stdout, "corruption: %s\n", rep.Problem)
		}
	}
	if err := damageOf(dir, rep); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout, "ok")
	}
	return nil
}

func logInspect(e env, args []string) error {
	fs := flag.NewFlagSet("log inspect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return err
	}
	dir, err := logDir(pos[0])
	if err != nil {
		return err
	}
	prog, done := progressFor("inspect")
	info, err := record.Inspect(dir, persistence.Options{Progress: prog})
	done()
	if err != nil {
		return err
	}
	if *asJSON {
		out := infoJSON{reportOut(&info.Report), info.Mutations, info.ByKind, info.ByModule, info.ByTable, info.ByOp}
		if err := writeJSON(e.stdout, out); err != nil {
			return err
		}
		return damageOf(dir, &info.Report)
	}
	w := e.stdout
	fmt.Fprintf(w, "lsn %s, %s, %s, %d bytes in %s\n", lsnRange(info.FirstLSN, info.LastLSN, info.Records),
		plural(info.Records, "record", "records"), plural(info.Mutations, "mutation", "mutations"),
		info.Bytes, plural(int64(len(info.Segments)), "segment", "segments"))
	for _, s := range info.Segments {
		what := "empty (its first record will be lsn " + fmt.Sprint(s.FirstLSN) + ")"
		if s.Records > 0 {
			what = "lsn " + lsnRange(s.FirstLSN, s.LastLSN, s.Records) + "  " + plural(s.Records, "record", "records")
		}
		fmt.Fprintf(w, "  %s  %s  %d bytes (%d used)\n", s.Name, what, s.Bytes, s.DataBytes)
	}
	for _, group := range []struct {
		title string
		m     map[string]int64
	}{{"records by kind", info.ByKind}, {"mutations by module", info.ByModule}, {"mutations by table", info.ByTable}, {"mutations by op", info.ByOp}} {
		if len(group.m) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", group.title)
		keys := make([]string, 0, len(group.m))
		for k := range group.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-30s %d\n", k, group.m[k])
		}
	}
	if info.Problem != nil {
		fmt.Fprintf(w, "corruption: %s\n", info.Problem)
	}
	if info.Torn != nil {
		fmt.Fprintf(w, "torn tail: %s\n", info.Torn)
	}
	return damageOf(dir, &info.Report)
}

// damageOf is the exit-1 error every log command returns for a log that
// validate calls damaged (corruption first, then a torn tail), or nil.
func damageOf(dir string, rep *persistence.Report) error {
	switch {
	case rep.Problem != nil:
		return damagedError{fmt.Sprintf("log %s is damaged: %s", dir, rep.Problem)}
	case rep.TornTail:
		return damagedError{fmt.Sprintf("log %s has a torn tail: %s (Open truncates it; 'interstice log repair' does it now)", dir, rep.Torn)}
	}
	return nil
}

// dumpRecord is a record's canonical JSON (internal/record) with its
// module record's schema decoded (the canonical form of the C ABI and the
// test vectors carries it as base64). The fields keep that form's order.
type dumpRecord struct {
	LSN          json.RawMessage `json:"lsn"`
	Timestamp    json.RawMessage `json:"timestamp"`
	Kind         json.RawMessage `json:"kind"`
	Module       json.RawMessage `json:"module"`
	Reducer      json.RawMessage `json:"reducer"`
	Args         json.RawMessage `json:"args"`
	Mutations    json.RawMessage `json:"mutations"`
	ModuleRecord *struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Schema     any    `json:"schema"`
		WasmSHA256 string `json:"wasm_sha256"`
	} `json:"module_record,omitempty"`
}

// dumpJSON appends the dump form of one record's payload to dst.
func dumpJSON(dst []byte, rec persistence.Record) ([]byte, error) {
	line, err := record.AppendJSON(dst, rec.Payload)
	if err != nil {
		return nil, fmt.Errorf("segment %s offset %d: %w", rec.Segment, rec.Offset, err)
	}
	mr := record.View(rec.Payload).ModuleRecord(nil) // verified by the reader (record.Check)
	if mr == nil {
		return line, nil
	}
	var d dumpRecord
	if err := json.Unmarshal(line[len(dst):], &d); err != nil {
		return nil, err
	}
	if info, err := moduleInfoFromFB(mr.SchemaBytes()); err != nil {
		d.ModuleRecord.Schema = map[string]string{"error": err.Error()}
	} else {
		d.ModuleRecord.Schema = schemaOf(info)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

func logDump(e env, args []string) error {
	fs := flag.NewFlagSet("log dump", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the records as one JSON array")
	asJSONL := fs.Bool("jsonl", false, "print one JSON object per record per line")
	from := fs.Uint64("from", 0, "first LSN to print")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return err
	}
	if *asJSON && *asJSONL {
		return usagef("log dump: --json and --jsonl exclude each other")
	}
	dir, err := logDir(pos[0])
	if err != nil {
		return err
	}
	// Progress by record offset, so that it advances within a segment.
	prog, done := progressFor("dump")
	defer done()
	before, total := segmentSizes(dir)
	start := int64(-1)
	r, err := persistence.NewReader(dir, *from, record.LogOptions(persistence.Options{}))
	if err != nil {
		return err
	}
	defer r.Close()
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	list := newJSONList(w, *asJSONL)
	var line []byte
	// end closes the JSON array, so that what was printed before damage
	// stays one valid document.
	end := func() {
		if *asJSON {
			list.end()
		}
		w.Flush()
	}
	for r.Next() {
		rec := r.Record()
		if prog != nil {
			at := before[rec.Segment] + rec.Offset
			if start < 0 {
				start = at
			}
			prog(at-start, max(total-start, at-start))
		}
		switch {
		case *asJSON || *asJSONL:
			if line, err = dumpJSON(line[:0], rec); err != nil {
				end()
				return err
			}
			list.add(line)
		default:
			t := record.View(rec.Payload)
			fmt.Fprintf(w, "lsn %d %s %s %s.%s  %s  [%s@%d]\n", rec.LSN, stamp(t.Timestamp()),
				record.KindName(t.Kind()), t.Module(), t.Reducer(), plural(int64(t.MutationsLength()), "mutation", "mutations"), rec.Segment, rec.Offset)
		}
	}
	end()
	if err := r.Err(); err != nil {
		if errors.Is(err, persistence.ErrCorrupt) {
			return damagedError{"stopped at corruption: " + err.Error()}
		}
		return err
	}
	if t := r.Torn(); t != nil {
		return damagedError{"stopped at a torn tail: " + t.String()}
	}
	return nil
}

// segHeaderSize is the size of a segment's header (docs/FORMAT.md): damage
// at a smaller offset is in the header.
const segHeaderSize = 32

// cutPlan says in words what Repair does with the damage in rep, and
// whether that drops valid records from the log (mid-log corruption).
func cutPlan(rep *persistence.Report) (lines []string, dropsValid bool) {
	p, torn := rep.Problem, false
	if p == nil {
		p, torn = rep.Torn, true
	}
	k := -1
	for i, s := range rep.Segments {
		if s.Name == p.Segment {
			k = i
		}
	}
	if torn {
		return []string{
			fmt.Sprintf("cut the torn tail of %s at offset %d (lsn %d, never acknowledged); its bytes go to %s.broken", p.Segment, p.Offset, p.LSN, p.Segment),
			fmt.Sprintf("the log then ends at lsn %d", rep.LastLSN),
		}, false
	}
	last := p.LSN - 1
	if p.Offset < segHeaderSize {
		lines = append(lines, fmt.Sprintf("move segment %s aside whole (its header is damaged) to %s.broken", p.Segment, p.Segment))
		if k > 0 {
			last = rep.Segments[k-1].LastLSN
		}
	} else {
		lines = append(lines, fmt.Sprintf("cut segment %s at offset %d (lsn %d); the bytes from there on go to %s.broken", p.Segment, p.Offset, p.LSN, p.Segment))
	}
	if k >= 0 {
		for _, s := range rep.Segments[k+1:] {
			lines = append(lines, fmt.Sprintf("move the later segment %s aside whole to %s.broken", s.Name, s.Name))
		}
	}
	lines = append(lines,
		fmt.Sprintf("the log then ends at lsn %d, and the next transaction reuses lsn %d", last, last+1),
		"valid records after the damage leave the log (their bytes stay in the .broken files)")
	return lines, true
}

func logRepair(e env, args []string) error {
	fs := flag.NewFlagSet("log repair", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "say what would be cut and change nothing")
	force := fs.Bool("force", false, "cut at mid-log corruption although valid records follow it (their bytes are kept in .broken files)")
	pos, err := parse(fs, args, []string{"DIR"})
	if err != nil {
		return err
	}
	dir, err := logDir(pos[0])
	if err != nil {
		return err
	}
	prog, done := progressFor("check")
	rep, err := persistence.Validate(dir, record.LogOptions(persistence.Options{Progress: prog}))
	done()
	if err != nil {
		return err
	}
	if rep.OK() {
		fmt.Fprintf(e.stdout, "the log is healthy: nothing to repair (last lsn %d)\n", rep.LastLSN)
		return nil
	}
	if rep.Problem != nil && errors.Is(rep.Problem.Err, persistence.ErrVersion) {
		return fmt.Errorf("%s: written by a newer build; nothing to repair (use a newer interstice)", rep.Problem)
	}
	plan, dropsValid := cutPlan(rep)
	problem := rep.Problem
	if problem == nil {
		problem = rep.Torn
	}
	fmt.Fprintf(e.stdout, "damage: %s\n", problem)
	if *dryRun || (dropsValid && !*force) {
		fmt.Fprintln(e.stdout, "repair would:")
		for _, l := range plan {
			fmt.Fprintf(e.stdout, "  %s\n", l)
		}
		if *dryRun {
			return damagedError{fmt.Sprintf("log %s is damaged; nothing was changed (--dry-run)", dir)}
		}
		return damagedError{fmt.Sprintf("log %s: repair refused: cutting at mid-log corruption drops the valid records after it from the log; "+
			"copy the directory aside, then rerun with --force (the cut bytes are kept in .broken files)", dir)}
	}
	prog, done = progressFor("repair")
	rr, err := persistence.Repair(dir, record.LogOptions(persistence.Options{Progress: prog}))
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "action: %s\n", rr.Action)
	for _, f := range rr.BrokenFiles {
		fmt.Fprintf(e.stdout, "saved cut bytes: %s\n", f)
	}
	for _, f := range rr.MovedSegments {
		fmt.Fprintf(e.stdout, "moved aside: %s\n", f)
	}
	fmt.Fprintf(e.stdout, "last lsn: %d\n", rr.LastLSN)
	return nil
}

func logRotate(e env, args []string) error {
	pos, err := parse(flag.NewFlagSet("log rotate", flag.ContinueOnError), args, []string{"DIR"})
	if err != nil {
		return err
	}
	dir, err := logDir(pos[0])
	if err != nil {
		return err
	}
	// Rotate writes: it refuses a log that validate calls damaged (Open
	// checks only the last segment; an LSN gap or a bad record in a sealed
	// segment would be built on).
	rep, err := persistence.Validate(dir, record.LogOptions(persistence.Options{}))
	if err != nil {
		return err
	} else if len(rep.Segments) == 0 {
		return notLogError{dir}
	} else if err := damageOf(dir, rep); err != nil {
		return damagedError{err.Error() + "; rotate refused (run 'interstice log repair' first)"}
	}
	if last := rep.Segments[len(rep.Segments)-1]; last.Records == 0 {
		fmt.Fprintf(e.stdout, "the active segment %s is empty (its first record will be lsn %d): nothing to rotate\n", last.Name, last.FirstLSN)
		return nil
	}
	// No SegmentSize: the new segment gets the log's own (persistence/segsize.go).
	l, err := persistence.Open(dir, record.LogOptions(persistence.Options{Recovery: persistence.RecoverStrict}))
	if err != nil {
		return err
	}
	if err := l.Rotate(); err != nil {
		l.Close()
		return err
	}
	lsn := l.LastLSN()
	fmt.Fprintf(e.stdout, "rotated at lsn %d: the next record starts a new segment\n", lsn)
	return closeAfter(l, fmt.Sprintf("the log was rotated at lsn %d", lsn))
}

// jsonList prints JSON objects as one array (--json) or one a line
// (--jsonl).
type jsonList struct {
	w     *bufio.Writer
	lines bool
	n     int
}

func newJSONList(w *bufio.Writer, lines bool) *jsonList {
	if !lines {
		w.WriteString("[")
	}
	return &jsonList{w: w, lines: lines}
}

func (l *jsonList) add(obj []byte) {
	switch {
	case l.lines:
	case l.n > 0:
		l.w.WriteString(",\n  ")
	default:
		l.w.WriteString("\n  ")
	}
	l.w.Write(obj)
	if l.lines {
		l.w.WriteByte('\n')
	}
	l.n++
}

// end closes the array (a no-op for --jsonl).
func (l *jsonList) end() {
	if l.lines {
		return
	}
	if l.n > 0 {
		l.w.WriteString("\n")
	}
	l.w.WriteString("]\n")
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// stamp is a record's timestamp for people: the UTC time it names (ns
// since the Unix epoch), or "ts N" for a logical clock of a log written
// before 0.4.0 (any value before 2000).
func stamp(ts uint64) string {
	if ts < uint64(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()) {
		return fmt.Sprintf("ts %d", ts)
	}
	return time.Unix(0, int64(ts)).UTC().Format(time.RFC3339Nano)
}
