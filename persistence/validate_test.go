package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recordCounts is what ValidateEach's callback counts in these tests:
// records, records per LSN class mod 3 (read from the payload's copy of
// the LSN) and the sum of every body byte.
type recordCounts struct {
	records int64
	byClass [3]int64
	bodySum uint64
}

func (c *recordCounts) add(t testing.TB, r Record) error {
	rec, err := decodeTestRec(r.Payload)
	if err != nil {
		return err
	}
	if rec.LSN != r.LSN {
		t.Errorf("record %d carries lsn %d", r.LSN, rec.LSN)
	}
	c.records++
	c.byClass[rec.LSN%3]++
	for _, b := range rec.Body {
		c.bodySum += uint64(b)
	}
	return nil
}

// validateEachCounts runs ValidateEach with the test format's check and
// counts the records it hands out.
func validateEachCounts(t testing.TB, dir string, opts ...Options) (*Report, recordCounts, error) {
	var c recordCounts
	o := checkOpts
	if len(opts) > 0 {
		o = withCheck(opts[0])
	}
	rep, err := ValidateEach(dir, func(r Record) error { return c.add(t, r) }, o)
	return rep, c, err
}

// TestValidateEachRepair: Validate and ValidateEach (which hands each
// record to a counting callback) agree on a healthy and on a damaged log
// and never write; on a healthy log the counts are those of the records
// written; Repair then acts as documented.
func TestValidateEachRepair(t *testing.T) {
	const n = 60
	o := Options{SegmentSize: MinSegmentSize, Sync: SyncNone}
	tests := []struct {
		name string
		// damage changes a healthy log; it returns the records that survive a repair.
		damage      func(t *testing.T, dir string) int
		wantTorn    bool
		wantCorrupt bool
		wantAction  string
	}{
		{"healthy", func(*testing.T, string) int { return n }, false, false, "none"},
		{"torn tail", func(t *testing.T, dir string) int {
			segs := segFiles(t, dir)
			last := segs[len(segs)-1]
			offs, _ := frameOffsets(t, last)
			if len(offs) == 0 { // an empty active segment: as if its creation never happened
				os.Remove(last)
				last = segs[len(segs)-2]
				offs, _ = frameOffsets(t, last)
			}
			if err := os.Truncate(last, offs[len(offs)-1]+20); err != nil {
				t.Fatal(err)
			}
			return n - 1
		}, true, false, "truncated torn tail"},
		{"corrupt middle", func(t *testing.T, dir string) int {
			seg := segFiles(t, dir)[2]
			offs, _ := frameOffsets(t, seg)
			flipByte(t, seg, offs[1]+frameHeaderSize+1)
			r, _ := Validate(dir, checkOpts)
			return int(r.Problem.LSN - 1)
		}, false, true, "truncated at corruption"},
		{"corrupt header", func(t *testing.T, dir string) int {
			seg := segFiles(t, dir)[3]
			flipByte(t, seg, 17)
			r, _ := Validate(dir, checkOpts)
			return int(r.Problem.LSN - 1)
		}, false, true, "truncated at corruption"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, o)
			appendN(t, l, n)
			l.Close()
			keep := tc.damage(t, dir)
			before := dirState(t, dir)
			rep, err := Validate(dir, checkOpts)
			if err != nil {
				t.Fatal(err)
			}
			each, counts, err := validateEachCounts(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if after := dirState(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("Validate or ValidateEach wrote:\nbefore %v\nafter  %v", before, after)
			}
			if rep.TornTail != tc.wantTorn || (rep.Problem != nil) != tc.wantCorrupt || rep.OK() != (tc.wantAction == "none") {
				t.Fatalf("Validate: torn %v problem %v", rep.Torn, rep.Problem)
			}
			if tc.wantCorrupt && !errors.Is(rep.Err(), ErrCorrupt) {
				t.Fatalf("Report.Err %v", rep.Err())
			}
			if fmt.Sprint(*each) != fmt.Sprint(*rep) || counts.records != rep.Records {
				t.Fatalf("ValidateEach %+v (%d records counted), Validate %+v", each, counts.records, rep)
			}
			if tc.name == "healthy" {
				var bodySum uint64
				for i := uint64(1); i <= n; i++ {
					for _, b := range testTxn(i).Body {
						bodySum += uint64(b)
					}
				}
				if counts.records != n || counts.byClass != [3]int64{n / 3, n / 3, n / 3} || counts.bodySum != bodySum || rep.LastLSN != n {
					t.Fatalf("ValidateEach counts %+v, want %d records, %d per class, body sum %d", counts, n, n/3, bodySum)
				}
			}
			rr, err := Repair(dir, checkOpts)
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if rr.Action != tc.wantAction {
				t.Fatalf("Repair action %q, want %q", rr.Action, tc.wantAction)
			}
			if tc.wantAction != "none" && len(rr.BrokenFiles) == 0 {
				t.Fatal("Repair kept no bytes aside")
			}
			for _, b := range rr.BrokenFiles {
				if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
					t.Fatalf("broken file: %v", err)
				}
			}
			if rr.LastLSN != uint64(keep) {
				t.Fatalf("Repair LastLSN %d, want %d", rr.LastLSN, keep)
			}
			rep, err = Validate(dir, checkOpts)
			if err != nil || !rep.OK() || rep.LastLSN != uint64(keep) {
				t.Fatalf("Validate after Repair: %v %+v", err, rep)
			}
			l = mustOpen(t, dir, o)
			checkContiguous(t, readAll(t, l), 1, keep)
			appendN(t, l, 3)
			l.Close()
		})
	}
}

func TestValidateEmptyAndMissingDirectory(t *testing.T) {
	rep, err := Validate(t.TempDir(), checkOpts)
	if err != nil || !rep.OK() || rep.Records != 0 {
		t.Fatalf("empty dir: %v %+v", err, rep)
	}
	if _, err := Validate(filepath.Join(t.TempDir(), "missing"), checkOpts); err == nil {
		t.Fatal("Validate of a missing directory succeeded")
	}
	rep, c, err := validateEachCounts(t, t.TempDir())
	if err != nil || !rep.OK() || rep.Records != 0 || c.records != 0 {
		t.Fatalf("ValidateEach of an empty dir: %v %+v, %d records seen", err, rep, c.records)
	}
	if _, _, err := validateEachCounts(t, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ValidateEach of a missing directory succeeded")
	}
}

// TestValidateEachCallbackErrorStopsTheScan: an error from ValidateEach's
// callback stops the scan at that record and becomes the report's Problem
// there, with the records before it counted.
func TestValidateEachCallbackErrorStopsTheScan(t *testing.T) {
	dir, seg := newLog(t, 5)
	offs, _ := frameOffsets(t, seg)
	stop := errors.New("enough")
	var seen []uint64
	rep, err := ValidateEach(dir, func(r Record) error {
		seen = append(seen, r.LSN)
		if r.LSN == 3 {
			return stop
		}
		return nil
	}, checkOpts)
	if err != nil || rep.Problem == nil || !errors.Is(rep.Problem.Err, stop) || rep.Problem.LSN != 3 ||
		rep.Problem.Offset != offs[2] || rep.Problem.Segment != segmentName(1) || rep.Records != 2 || rep.LastLSN != 2 {
		t.Fatalf("ValidateEach: %v %+v problem %+v", err, rep, rep.Problem)
	}
	checkContiguous(t, seen, 1, 3)
}
