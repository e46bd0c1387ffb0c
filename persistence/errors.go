package persistence

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package that concerns a
// place in the log wraps one of these with that place, in the form
// "<sentinel>: segment <name> offset <n> lsn <n>: <detail>", so callers test
// them with errors.Is.
var (
	// ErrCorrupt reports damage that is not a torn tail: a bad checksum or a
	// malformed frame followed by a valid frame, an LSN gap or repeat within or
	// across segments, a damaged segment header, or a payload whose LSN
	// disagrees with its frame. It is never repaired automatically.
	ErrCorrupt = errors.New("persistence: log corrupt")

	// ErrTornTail reports a torn last record (a short, zeroed or checksum-bad
	// frame at the very end of the last segment with nothing valid after it).
	// Open returns it only under RecoverStrict; the default mode cuts the tail.
	ErrTornTail = errors.New("persistence: torn tail")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("persistence: log closed")

	// ErrPoisoned is returned by every Append, Sync and Rotate after a write,
	// fdatasync or rotation step failed. It wraps the original error. The log
	// never retries a failed fdatasync: the data it covered may be lost.
	ErrPoisoned = errors.New("persistence: log poisoned by an earlier write failure")

	// ErrReadOnly is returned by Append, Sync and Rotate on a log opened with
	// RecoverReadOnly.
	ErrReadOnly = errors.New("persistence: log opened read-only")

	// ErrVersion reports a segment or snapshot written in a format version
	// (or with a checksum algorithm or flags) this build does not know. Such
	// a file is refused, never misread.
	ErrVersion = errors.New("persistence: unsupported format version")

	// ErrRecordTooLarge is returned by Append when an encoded record is larger
	// than MaxRecordSize.
	ErrRecordTooLarge = errors.New("persistence: record too large")

	// ErrBadRecord is returned by Append, Enqueue and AppendBatch for an
	// empty payload and when Options.Check refuses one: the log never
	// writes a record that its readers would then misread or call
	// corrupt. It wraps the check's error.
	ErrBadRecord = errors.New("persistence: payload refused by the record check")

	// ErrLocked is returned by Open (writable modes) and Repair when another
	// Log, in this process or another, holds the directory's lock (an
	// flock on "<dir>/LOCK", taken by Open and released by Close). The
	// error names the directory and, when known, the holder's process id.
	ErrLocked = errors.New("persistence: log directory is locked")

	// ErrCompacted is returned by Replay and NewReader when the requested
	// LSN was deleted by retention.
	ErrCompacted = errors.New("persistence: lsn no longer in the log")
)

// placeErr wraps a sentinel with the place it concerns.
func placeErr(sentinel error, seg string, off int64, lsn uint64, format string, args ...any) error {
	return fmt.Errorf("%w: segment %s offset %d lsn %d: %s", sentinel, seg, off, lsn, fmt.Sprintf(format, args...))
}
