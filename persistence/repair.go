package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// RepairReport says what Repair did.
type RepairReport struct {
	// Action is "none" (the log was healthy), "truncated torn tail" or
	// "truncated at corruption".
	Action string
	// Problem is the damage repaired (nil for "none").
	Problem *Problem
	// BrokenFiles are the files the cut bytes were saved to.
	BrokenFiles []string
	// MovedSegments are whole segments renamed aside to "<name>.broken"
	// because they followed the cut.
	MovedSegments []string
	// LastLSN is the last LSN the log holds after the repair.
	LastLSN uint64
}

// Repair is the operator's tool for a damaged log in dir. The log must not
// be open: Repair takes the directory lock as Open does and fails with
// ErrLocked while a Log holds it. It never discards bytes: everything it
// cuts is saved first.
//
//   - A torn tail is cut as Open does in RecoverTruncateTail mode: the bytes
//     from the torn frame to the last nonzero byte of the segment are
//     written to "<segment>.broken" and fsynced, then the segment is
//     truncated at the torn frame and fsynced.
//   - Mid-log corruption at segment S, offset X: the bytes of S from X on
//     are saved to "<S>.broken"; every later segment is renamed whole to
//     "<name>.broken" (newest first, then the directory is fsynced); then S
//     is truncated at X. The records after the corruption are not lost:
//     they are in the .broken files, in the original frame format, but the
//     log no longer holds them, and its next Append reuses their LSNs.
//     If the damage is in S's header (X = 0) the whole of S is moved aside;
//     if no segment remains, an empty segment starting at S's first LSN is
//     created, so the LSNs continue.
//   - A segment of an unsupported format version is never touched: Repair
//     returns ErrVersion.
//
// If a ".broken" name is taken, "<segment>.N.broken" is used (N = 1, 2, ...).
// A crash during Repair leaves either the old log (run Repair again) or the
// repaired one, plus possibly an extra copy of the cut bytes.
func Repair(dir string, opts ...Options) (*RepairReport, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return nil, err
	}
	sizeGiven := len(opts) > 0 && opts[0].SegmentSize != 0
	lock, err := lockDir(o.FS, dir)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		defer lock.Close()
	}
	rep, err := Validate(dir, o)
	if err != nil {
		return nil, err
	}
	out := &RepairReport{Action: "none", LastLSN: rep.LastLSN}
	if rep.OK() {
		return out, nil
	}
	p := rep.Problem
	if p == nil {
		p = rep.Torn
		out.Action = "truncated torn tail"
	} else {
		if errors.Is(p.Err, ErrVersion) {
			return nil, p.Err
		}
		out.Action = "truncated at corruption"
	}
	out.Problem = p
	// The segment left last must keep recording the log's segment size
	// (segsize.go): it is preallocated back to it after the cut.
	segSize := o.SegmentSize
	if !sizeGiven && len(rep.Segments) > 0 {
		segSize = clampSegmentSize(rep.Segments[len(rep.Segments)-1].Bytes)
	}
	k := -1
	for i, s := range rep.Segments {
		if s.Name == p.Segment {
			k = i
		}
	}
	if k < 0 {
		return nil, fmt.Errorf("persistence: repair: segment %s vanished", p.Segment)
	}
	// Move every later segment aside, newest first.
	for i := len(rep.Segments) - 1; i > k; i-- {
		name := rep.Segments[i].Name
		dst, err := freeBrokenName(o.FS, dir, name)
		if err != nil {
			return out, err
		}
		if err := o.FS.Rename(filepath.Join(dir, name), filepath.Join(dir, dst)); err != nil {
			return out, fmt.Errorf("persistence: repair: move segment %s aside: %w", name, err)
		}
		out.MovedSegments = append(out.MovedSegments, name)
		out.BrokenFiles = append(out.BrokenFiles, dst)
	}
	seg := rep.Segments[k]
	if p.Offset < segHeaderSize {
		dst, err := freeBrokenName(o.FS, dir, seg.Name)
		if err != nil {
			return out, err
		}
		if err := o.FS.Rename(filepath.Join(dir, seg.Name), filepath.Join(dir, dst)); err != nil {
			return out, fmt.Errorf("persistence: repair: move segment %s aside: %w", seg.Name, err)
		}
		out.MovedSegments = append(out.MovedSegments, seg.Name)
		out.BrokenFiles = append(out.BrokenFiles, dst)
		if err := o.FS.SyncDir(dir); err != nil {
			return out, fmt.Errorf("persistence: repair: fsync directory: %w", err)
		}
		if k == 0 {
			f, err := createSegment(o.FS, dir, seg.FirstLSN, segSize)
			if err != nil {
				return out, err
			}
			f.Close()
			out.LastLSN = seg.FirstLSN - 1
		} else {
			out.LastLSN = rep.Segments[k-1].LastLSN
		}
		return out, nil
	}
	if len(out.MovedSegments) > 0 {
		if err := o.FS.SyncDir(dir); err != nil {
			return out, fmt.Errorf("persistence: repair: fsync directory: %w", err)
		}
	}
	f, err := o.FS.OpenFile(filepath.Join(dir, seg.Name), os.O_RDWR, 0)
	if err != nil {
		return out, fmt.Errorf("persistence: repair: open segment %s: %w", seg.Name, err)
	}
	defer f.Close()
	data, _, release, err := segmentBytes(f, nil, -1)
	if err != nil {
		return out, fmt.Errorf("persistence: repair: read segment %s: %w", seg.Name, err)
	}
	defer release()
	bn, err := cutTail(o.FS, dir, seg.Name, f, data, p.Offset)
	if err != nil {
		return out, err
	}
	if bn != "" {
		out.BrokenFiles = append(out.BrokenFiles, bn)
	}
	out.LastLSN = p.LSN - 1
	// Best effort: the cut is durable and the log valid without it; if the
	// disk has no room, the next writable Open preallocates (or, given no
	// SegmentSize, uses the shorter length).
	if p.Offset < segSize && f.Allocate(segSize) == nil {
		_ = f.Sync()
	}
	return out, nil
}

// freeBrokenName returns "<name>.broken", or "<name>.N.broken" for the
// smallest N >= 1 whose file does not exist.
func freeBrokenName(fsys FS, dir, name string) (string, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("persistence: list log directory: %w", err)
	}
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		taken[n] = true
	}
	cand := name + brokenSuffix
	for i := 1; taken[cand]; i++ {
		cand = name + "." + strconv.Itoa(i) + brokenSuffix
	}
	return cand, nil
}

// cutTail saves data[cut:] (without trailing zeros) to a fresh ".broken"
// file, fsyncs it and the directory, then truncates the segment f at cut
// and fsyncs it. It returns the ".broken" file name ("" if the cut bytes
// were all zero and nothing had to be saved).
func cutTail(fsys FS, dir, seg string, f File, data []byte, cut int64) (string, error) {
	var saved string
	if cut < int64(len(data)) {
		keep := data[cut:]
		keep = keep[:lastNonZero(keep)]
		if len(keep) > 0 {
			name, err := freeBrokenName(fsys, dir, seg)
			if err != nil {
				return "", err
			}
			bf, err := fsys.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return "", fmt.Errorf("persistence: save torn bytes of %s: %w", seg, err)
			}
			_, err = bf.WriteAt(keep, 0)
			if err == nil {
				err = bf.Sync()
			}
			if cerr := bf.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = fsys.SyncDir(dir)
			}
			if err != nil {
				return "", fmt.Errorf("persistence: save torn bytes of %s to %s: %w", seg, name, err)
			}
			saved = name
		}
	}
	if err := f.Truncate(cut); err != nil {
		return saved, fmt.Errorf("persistence: truncate segment %s at %d: %w", seg, cut, err)
	}
	if err := f.Sync(); err != nil {
		return saved, fmt.Errorf("persistence: fsync segment %s: %w", seg, err)
	}
	return saved, nil
}
