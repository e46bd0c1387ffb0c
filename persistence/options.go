package persistence

import (
	"fmt"
	"time"
)

// SyncPolicy says when appended records reach stable storage.
type SyncPolicy int

const (
	// SyncAlways (the default) returns from Append only after the record's
	// bytes were written and fdatasync'ed. Concurrent appenders share one
	// write and one fdatasync (group commit).
	SyncAlways SyncPolicy = iota
	// SyncInterval returns once the record is written to the operating
	// system; a background goroutine calls fdatasync every SyncInterval. A
	// process crash loses nothing; a power loss may lose the last interval.
	SyncInterval
	// SyncNone returns once the record is written to the operating system and
	// syncs only on Sync, Rotate and Close.
	SyncNone
)

// String returns "always", "interval" or "none".
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// RecoveryMode says what Open does with a damaged log.
type RecoveryMode int

const (
	// RecoverTruncateTail (the default) cuts a torn last record off the last
	// segment after copying the cut bytes to a "<segment>.broken" file.
	// Mid-log corruption is a hard error (ErrCorrupt).
	RecoverTruncateTail RecoveryMode = iota
	// RecoverStrict refuses any damage: a torn tail is ErrTornTail.
	RecoverStrict
	// RecoverReadOnly opens the log for reading and inspection only. It never
	// writes, creates or removes a file; a torn tail is left in place and not
	// read. Append, Sync and Rotate return ErrReadOnly.
	RecoverReadOnly
)

// String returns "truncate-tail", "strict" or "read-only".
func (m RecoveryMode) String() string {
	switch m {
	case RecoverTruncateTail:
		return "truncate-tail"
	case RecoverStrict:
		return "strict"
	case RecoverReadOnly:
		return "read-only"
	}
	return fmt.Sprintf("RecoveryMode(%d)", int(m))
}

const (
	// DefaultSegmentSize is the SegmentSize used when Options.SegmentSize is 0.
	DefaultSegmentSize = 64 << 20
	// MinSegmentSize is the smallest accepted SegmentSize. Small segments are
	// only useful in tests; each costs a file, a header and a rotation.
	MinSegmentSize = 1 << 10
	// MaxSegmentSize is the largest accepted SegmentSize. A reader holds one
	// segment in memory at a time, so this bounds its memory.
	MaxSegmentSize = 1 << 30
	// DefaultSyncInterval is the SyncInterval used when it is 0.
	DefaultSyncInterval = 100 * time.Millisecond
)

// Options configures Open, NewReader, Validate, ValidateEach and Repair. The zero
// value selects every default.
type Options struct {
	// SegmentSize is the size past which the active segment is sealed and a
	// new one started. New segments are preallocated to this size. A segment
	// may exceed it by the last batch written to it. Default (0): for an
	// existing log, the size it was written with, which its last segment's
	// length records (segsize.go); for a new log, 64 MiB. Must be within
	// [MinSegmentSize, MaxSegmentSize].
	SegmentSize int64

	// Sync is the durability policy of Append. Default SyncAlways.
	Sync SyncPolicy

	// SyncInterval is the fdatasync period under SyncInterval. Default 100ms.
	SyncInterval time.Duration

	// Recovery says how Open treats damage. Default RecoverTruncateTail.
	Recovery RecoveryMode

	// RetainSegments is how many archived (sealed) segments retention keeps
	// at least. Default 0 means retention is off: no segment is ever deleted.
	// With N > 0, after each rotation (and on Retain) the oldest archived
	// segments beyond the newest N are deleted, but only those whose every
	// LSN is at or below the protected LSN (see SetProtectedLSN).
	RetainSegments int

	// Check is the payload check of every record (see Check): the format
	// stored in the log supplies it, and every opener of that format's
	// logs must pass the same one (the runtime's is internal/record's
	// Check). Default nil: frames are checked (checksum, length, LSN chain)
	// and payloads are not.
	Check Check

	// FS is the file-system seam used for every file operation. Default: the
	// operating system. Tests inject faults through it.
	FS FS

	// Progress, if set, is called during long scans (Open's scan of the last
	// segment, Replay, NewReader, Validate, ValidateEach, Repair) with the bytes
	// done and the total bytes to do; done never decreases and never
	// exceeds total. Every call is made on the goroutine that called the
	// scanning function, never concurrently (Validate, ValidateEach and Repair
	// verify on several goroutines but report from that one), so the
	// callback needs no locking; it must be fast, as the scan waits for it.
	// Validate, ValidateEach and Repair report within a segment, at least every
	// MiB or so of verified bytes, and a healthy log's last report is
	// (total, total); their total leaves out the zero-filled preallocated
	// tail of the log's last segment, which is not records.
	Progress func(done, total int64)
}

func (o Options) withDefaults() (Options, error) {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentSize < MinSegmentSize || o.SegmentSize > MaxSegmentSize {
		return o, fmt.Errorf("persistence: segment size %d outside [%d, %d]", o.SegmentSize, MinSegmentSize, MaxSegmentSize)
	}
	if o.Sync < SyncAlways || o.Sync > SyncNone {
		return o, fmt.Errorf("persistence: unknown sync policy %d", int(o.Sync))
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.SyncInterval < 0 {
		return o, fmt.Errorf("persistence: negative sync interval %s", o.SyncInterval)
	}
	if o.Recovery < RecoverTruncateTail || o.Recovery > RecoverReadOnly {
		return o, fmt.Errorf("persistence: unknown recovery mode %d", int(o.Recovery))
	}
	if o.RetainSegments < 0 {
		return o, fmt.Errorf("persistence: negative RetainSegments %d", o.RetainSegments)
	}
	if o.FS == nil {
		o.FS = OSFS{}
	}
	return o, nil
}

func firstOptions(opts []Options) (Options, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return o.withDefaults()
}
