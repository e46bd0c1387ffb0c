package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestValidateInspectRepair(t *testing.T) {
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
			r, _ := Validate(dir)
			return int(r.Problem.LSN - 1)
		}, false, true, "truncated at corruption"},
		{"corrupt header", func(t *testing.T, dir string) int {
			seg := segFiles(t, dir)[3]
			flipByte(t, seg, 17)
			r, _ := Validate(dir)
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
			rep, err := Validate(dir)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(dir)
			if err != nil {
				t.Fatal(err)
			}
			if after := dirState(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("Validate or Inspect wrote:\nbefore %v\nafter  %v", before, after)
			}
			if rep.TornTail != tc.wantTorn || (rep.Problem != nil) != tc.wantCorrupt || rep.OK() != (tc.wantAction == "none") {
				t.Fatalf("Validate: torn %v problem %v", rep.Torn, rep.Problem)
			}
			if tc.wantCorrupt && !errors.Is(rep.Err(), ErrCorrupt) {
				t.Fatalf("Report.Err %v", rep.Err())
			}
			if info.Records != rep.Records || len(info.Segments) != len(rep.Segments) {
				t.Fatalf("Inspect %d records, Validate %d", info.Records, rep.Records)
			}
			if tc.name == "healthy" {
				var sum int64
				for _, c := range info.ByKind {
					sum += c
				}
				if sum != n || info.Mutations != n || info.ByOp["Insert"] != n/3 || info.ByModule["mod0"] != n/3 || rep.LastLSN != n {
					t.Fatalf("Inspect counts: kinds %v ops %v modules %v mutations %d", info.ByKind, info.ByOp, info.ByModule, info.Mutations)
				}
			}
			rr, err := Repair(dir)
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
			rep, err = Validate(dir)
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
	rep, err := Validate(t.TempDir())
	if err != nil || !rep.OK() || rep.Records != 0 {
		t.Fatalf("empty dir: %v %+v", err, rep)
	}
	if _, err := Validate(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("Validate of a missing directory succeeded")
	}
}
