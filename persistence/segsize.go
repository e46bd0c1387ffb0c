package persistence

import (
	"os"
	"path/filepath"
)

// The segment size is stored with the data: the active (last) segment is
// preallocated to exactly Options.SegmentSize when it is created and
// whenever a writable Open finds it shorter, and it keeps that length
// until it is sealed (only a batch that overflows it makes it longer, and
// that batch rotates it). So a log's own segment size is its last
// segment's length, in every log version 1 ever wrote, with no new field
// and no new file (the golden vectors stay byte for byte what they were).
// An Open, or a Repair, that is not given a SegmentSize uses it, so that a
// log made with small segments is never grown to the 64 MiB default behind
// the operator's back (which on a nearly full disk made the CLI fail).

// storedSegmentSize returns the segment size the log's last segment s
// records: its file length, within [MinSegmentSize, MaxSegmentSize].
func storedSegmentSize(fsys FS, dir string, s segInfo) (int64, bool) {
	f, err := fsys.OpenFile(filepath.Join(dir, s.name), os.O_RDONLY, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return 0, false
	}
	return clampSegmentSize(n), true
}

func clampSegmentSize(n int64) int64 { return min(max(n, MinSegmentSize), MaxSegmentSize) }
