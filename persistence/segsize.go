package persistence

import (
	"os"
	"path/filepath"
)

// The segment size is stored with the data, in one of two ways.
//
//   - A segment of at most preallocStep (1 MiB) is preallocated whole when
//     it is created, and whenever a writable Open finds it shorter, and it
//     keeps that length until it is sealed (only a batch that overflows it
//     makes it longer, and that batch rotates it). Its header's size field
//     is 0: its length is the size. Every log before 0.4.0 was written so,
//     whatever its segment size, and the golden vectors still are.
//   - A larger segment is preallocated preallocStep at a time (the file
//     grows ahead of its frames, zeroFillLocked), so its length says
//     nothing; its header records the size in KiB (bytes 12..15, reserved
//     and ignored by earlier readers, who fall back on the length).
//
// So a log's own segment size is its last segment's header field, or else
// its length. An Open, or a Repair, that is not given a SegmentSize uses
// it, so that a log made with small segments is never grown to the 64 MiB
// default behind the operator's back (which on a nearly full disk made
// the CLI fail), and a log of 64 MiB segments keeps them.

// storedSegmentSize returns the segment size the log's last segment s
// records, within [MinSegmentSize, MaxSegmentSize].
func storedSegmentSize(fsys FS, dir string, s segInfo) (int64, bool) {
	f, err := fsys.OpenFile(filepath.Join(dir, s.name), os.O_RDONLY, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var hdr [segHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err == nil {
		if h, err := decodeSegHeader(hdr[:], s.name); err == nil && h.sizeKiB != 0 {
			return clampSegmentSize(int64(h.sizeKiB) << 10), true
		}
	}
	n, err := f.Size()
	if err != nil {
		return 0, false
	}
	return clampSegmentSize(n), true
}

func clampSegmentSize(n int64) int64 { return min(max(n, MinSegmentSize), MaxSegmentSize) }
