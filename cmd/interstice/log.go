package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/txjson"
	"github.com/interstice/interstice/persistence"
)

func init() {
	register(command{"log validate", "DIR [--json]", "verify every record; exit 1 if the log is damaged", logValidate})
	register(command{"log inspect", "DIR [--json]", "LSN range, segments, counts per module/table/op; exit 1 if damaged", logInspect})
	register(command{"log dump", "DIR [--json] [--from LSN]", "print the records; exit 1 at damage", logDump})
	register(command{"log repair", "DIR", "cut a torn tail or corruption, keeping the bytes in .broken files", logRepair})
	register(command{"log rotate", "DIR", "seal the active segment and start a new one; refused (exit 1) if damaged", logRotate})
}

func logValidate(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("log validate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args, "DIR")
	if err != nil {
		return err
	}
	prog, done := progress("validate")
	rep, err := persistence.Validate(pos[0], persistence.Options{Progress: prog})
	done()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "segments: %d\nrecords:  %d\nlsn:      %d..%d\nbytes:    %d (valid %d)\n",
			len(rep.Segments), rep.Records, rep.FirstLSN, rep.LastLSN, rep.Bytes, rep.ValidBytes)
		fmt.Fprintf(stdout, "torn tail: %v\n", rep.TornTail)
		if rep.Torn != nil {
			fmt.Fprintf(stdout, "  %s\n", rep.Torn)
		}
		if rep.Problem != nil {
			fmt.Fprintf(stdout, "corruption: %s\n", rep.Problem)
		}
	}
	if err := damageOf(pos[0], rep); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "ok")
	}
	return nil
}

func logInspect(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("log inspect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args, "DIR")
	if err != nil {
		return err
	}
	prog, done := progress("inspect")
	info, err := persistence.Inspect(pos[0], persistence.Options{Progress: prog})
	done()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, info); err != nil {
			return err
		}
		return damageOf(pos[0], &info.Report)
	}
	fmt.Fprintf(stdout, "lsn %d..%d, %d records, %d mutations, %d bytes in %d segment(s)\n",
		info.FirstLSN, info.LastLSN, info.Records, info.Mutations, info.Bytes, len(info.Segments))
	for _, s := range info.Segments {
		fmt.Fprintf(stdout, "  %s  lsn %d..%d  %d records  %d bytes (%d used)\n", s.Name, s.FirstLSN, s.LastLSN, s.Records, s.Bytes, s.DataBytes)
	}
	for _, group := range []struct {
		title string
		m     map[string]int64
	}{{"records by kind", info.ByKind}, {"mutations by module", info.ByModule}, {"mutations by table", info.ByTable}, {"mutations by op", info.ByOp}} {
		if len(group.m) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "%s:\n", group.title)
		keys := make([]string, 0, len(group.m))
		for k := range group.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "  %-30s %d\n", k, group.m[k])
		}
	}
	if info.Problem != nil {
		fmt.Fprintf(stdout, "corruption: %s\n", info.Problem)
	}
	if info.Torn != nil {
		fmt.Fprintf(stdout, "torn tail: %s\n", info.Torn)
	}
	return damageOf(pos[0], &info.Report)
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

func logDump(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("log dump", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per line (internal/txjson format)")
	from := fs.Uint64("from", 0, "first LSN to print")
	pos, err := parse(fs, args, "DIR")
	if err != nil {
		return err
	}
	prog, done := progress("dump")
	defer done()
	r, err := persistence.NewReader(pos[0], *from, persistence.Options{Progress: prog})
	if err != nil {
		return err
	}
	defer r.Close()
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	var line []byte
	for r.Next() {
		rec := r.Record()
		if *asJSON {
			if line, err = txjson.Append(line[:0], rec.Payload); err != nil {
				return fmt.Errorf("segment %s offset %d: %w", rec.Segment, rec.Offset, err)
			}
			w.Write(append(line, '\n'))
			continue
		}
		t := rec.Transaction()
		fmt.Fprintf(w, "lsn %d ts %d %s %s.%s  %d mutation(s)  [%s@%d]\n", rec.LSN, t.Timestamp(),
			fb.EnumNamesTxKind[t.Kind()], t.Module(), t.Reducer(), t.MutationsLength(), rec.Segment, rec.Offset)
	}
	if err := r.Err(); err != nil {
		if errors.Is(err, persistence.ErrCorrupt) {
			w.Flush()
			return damagedError{"stopped at corruption: " + err.Error()}
		}
		return err
	}
	if t := r.Torn(); t != nil {
		w.Flush()
		return damagedError{"stopped at a torn tail: " + t.String()}
	}
	return nil
}

func logRepair(stdout io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("log repair", flag.ContinueOnError), args, "DIR")
	if err != nil {
		return err
	}
	prog, done := progress("repair")
	rep, err := persistence.Repair(pos[0], persistence.Options{Progress: prog})
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "action: %s\n", rep.Action)
	if rep.Problem != nil {
		fmt.Fprintf(stdout, "damage: %s\n", rep.Problem)
	}
	for _, f := range rep.BrokenFiles {
		fmt.Fprintf(stdout, "saved cut bytes: %s\n", f)
	}
	for _, f := range rep.MovedSegments {
		fmt.Fprintf(stdout, "moved aside: %s\n", f)
	}
	fmt.Fprintf(stdout, "last lsn: %d\n", rep.LastLSN)
	return nil
}

func logRotate(stdout io.Writer, args []string) error {
	pos, err := parse(flag.NewFlagSet("log rotate", flag.ContinueOnError), args, "DIR")
	if err != nil {
		return err
	}
	// Rotate writes: it refuses a log that validate calls damaged (Open
	// checks only the last segment; an LSN gap or a bad record in a sealed
	// segment would be built on).
	if rep, err := persistence.Validate(pos[0]); err != nil {
		return err
	} else if len(rep.Segments) == 0 {
		return fmt.Errorf("%s holds no log segments", pos[0])
	} else if err := damageOf(pos[0], rep); err != nil {
		return damagedError{err.Error() + "; rotate refused (run 'interstice log repair' first)"}
	}
	// No SegmentSize: the new segment gets the log's own (persistence/segsize.go).
	l, err := persistence.Open(pos[0], persistence.Options{Recovery: persistence.RecoverStrict})
	if err != nil {
		return err
	}
	if err := l.Rotate(); err != nil {
		l.Close()
		return err
	}
	lsn := l.LastLSN()
	fmt.Fprintf(stdout, "rotated at lsn %d\n", lsn)
	return closeAfter(l, fmt.Sprintf("the log was rotated at lsn %d", lsn))
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
