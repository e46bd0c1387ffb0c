// Package persistence is Interstice's transaction log: a directory of
// segment files holding checksummed, LSN-chained records whose payloads
// are opaque to it. It knows nothing about WASM or about the record format
// stored in it, and imports no fbs code: the runtime's records
// (fb.Transaction flatbuffers) are encoded, decoded and verified by
// internal/record, which imports this package, never the other way.
//
// Open a log, Append records (durable before Append returns under the
// default SyncAlways policy, with group commit across goroutines), Replay
// them or read them with a Reader, and check a log with Validate,
// ValidateEach and Repair. See Example for Open/Append/Replay.
//
// # Payloads, the LSN and the record check
//
// The log owns the LSN: it lives in each frame's header, and Append,
// Enqueue and AppendBatch assign it. A record is given as a Payload, whose
// AppendPayload the log calls under its lock with the LSN it assigns, so
// a format that keeps a copy of the LSN inside its payload (the runtime's
// does) writes the log's, and nobody predicts it. Options.Check is the
// format's content check: every reader runs it on every frame whose
// checksum and LSN are valid (a failure is corruption at that frame,
// never a torn tail), and every append runs it on the payload it is about
// to frame (a failure is ErrBadRecord and nothing is queued). Every opener
// of a log of runtime records passes internal/record's Check.
//
// # Pipelined appends for a serialized executor
//
// Append is Enqueue followed by Wait. A caller that must order its records
// under its own lock (the runtime runs reducers one at a time) calls
// Enqueue under that lock, which assigns the LSN and queues the frame
// without any I/O, and Wait(lsn) after releasing it. Whoever waits while
// no write is in flight leads one: it writes every frame queued so far
// with one pwrite and makes them durable with one fdatasync; the others
// wait for it and the next leader drains whatever was queued meanwhile. So
// N callers share fdatasyncs even though they execute one at a time. Under
// SyncAlways a leader first waits for its group: if fewer records are
// queued than the previous write acknowledged plus those queued behind it,
// it waits until they are, at most the last fdatasync's duration (and
// never over 1 ms). N callers each holding one record in flight then share
// each fdatasync N at a time rather than alternating between one and N-1;
// a lone writer's group is one record and it never waits. WaitNow is Wait
// without that wait, for a single pipelined waiter (the runtime's executor
// of asynchronous calls). Stats counts
// writes, fdatasyncs, records and gathers. Wait never returns nil before the
// record's bytes are durable under the sync policy; a failed write or
// fdatasync fails every waiter of that batch and of every record queued
// behind it, and every later Enqueue returns ErrPoisoned. Records already
// executed against in-memory state by the caller are then not in the log:
// the caller must discard that state (reopen and replay).
//
// # Directory lock
//
// Open in a writable mode takes flock(LOCK_EX|LOCK_NB) on "<dir>/LOCK"
// and holds it until Close; Repair takes it for its duration. A second
// writer, in this process or another, fails at once with ErrLocked naming
// the directory and the holder's pid. The kernel drops the lock when the
// holder exits or is killed, so a stale LOCK file never blocks anyone.
//
// Read-only Open, Validate, ValidateEach and NewReader take no lock, so they
// may read a log while another process writes it. Every record they return
// has a verified checksum and LSN, but they see a moving target: the last
// segment may end in a frame being written (reported as a torn tail), may
// hold records written but not yet acknowledged (their fdatasync may still
// fail), and a segment may be deleted by retention (ErrCompacted) or
// shrunk by rotation while they read it (an error saying the segment
// shrank; read again). They never modify the log and never crash on it.
//
// # Snapshots and retention
//
// WriteSnapshot stores an opaque body (the runtime's encoded fb.Snapshot)
// as the state after record lsn, crash-safely; ReadNewestSnapshot returns
// the newest one that verifies and is not newer than the log, skipping
// damaged ones; PruneSnapshots deletes older ones. Retention of log
// segments is tied to snapshots through Log.SetProtectedLSN: a segment is
// deleted only when every LSN it holds is at or below the protected LSN,
// so replay from snapshot LSN + 1 always finds its first record. Protocol
// for the runtime (TestDamagedNewestSnapshotStillRecoversWhenTheFloorIsTheOldestKept):
//
//  1. WriteSnapshot(dir, lsn, body) with lsn an acknowledged LSN whose
//     state body is;
//  2. PruneSnapshots(dir, 2);
//  3. SetProtectedLSN(the oldest of the snapshots kept), then Retain().
//
// Protecting from the older kept snapshot rather than the newest costs
// one snapshot interval of log, and means that if the newest snapshot is
// later found damaged, the older one plus the log still rebuild the state.
// At startup: lsn, body, skipped, err := ReadNewestSnapshot(dir,
// log.LastLSN()); load body; Replay(lsn+1, ...).
//
// # On-disk format (version 2; version 1 is still read)
//
// All integers are little-endian. CRC means CRC-32C (Castagnoli polynomial,
// hash/crc32 with crc32.Castagnoli), initial value 0, no final XOR beyond
// the standard one.
//
// A log is a directory of segment files. A segment is named by the LSN of
// its first record as 20 decimal digits plus ".log", so lexical order is
// LSN order. Worked example: the segment whose first record is LSN 4096 is
// "00000000000000004096.log"; the first segment of a new log is
// "00000000000000000001.log".
//
// A segment starts with a 32-byte header:
//
//	offset size field
//	0      8    magic "INTSTLOG" (49 4e 54 53 54 4c 4f 47)
//	8      2    format version: 2 (written by this build), or 1
//	10     1    checksum algorithm, 1 = CRC-32C
//	11     1    reserved, 0
//	12     4    segment size in KiB when preallocated in steps, else 0 (segsize.go)
//	16     8    first LSN (>= 1), equal to the one in the file name
//	24     4    reserved, 0
//	28     4    CRC of bytes 0..27
//
// A reader checks the magic, then the header CRC (ErrCorrupt), and only
// then refuses any version other than 1 and 2 or any algorithm other than
// 1 with ErrVersion, as
// for snapshots: a flipped bit in the version or algorithm byte is damage
// (corruption, repairable by Repair), never a newer format. Every format
// version keeps this 32-byte header with the CRC-32C of bytes 0..27 at
// offset 28, so only a header whose CRC verifies can claim a version this
// build does not know.
//
// Frames follow from offset 32, one per record, each padded with zero
// bytes to a multiple of 8:
//
//	offset size   field
//	0      4      CRC of bytes 4 .. 16+length-1 (length, lsn and payload)
//	4      4      bits 0..30: length of the payload in bytes, 1 .. MaxRecordSize;
//	              bit 31 (version 2): continues, the next frame belongs to
//	              the same batch
//	8      8      LSN of the record
//	16     length payload, opaque here (the runtime's: an fb.Transaction
//	              flatbuffer whose lsn field is present and equal to the
//	              frame's LSN, which internal/record's Check verifies)
//	16+length     0..7 zero bytes of padding (not covered by the CRC)
//
// The checksum covers the length and the LSN, so a flipped length or LSN is
// caught like a flipped payload byte. Padding makes every frame header and
// every payload start 8-byte aligned (headers are read with aligned loads,
// flatbuffer scalars stay aligned, and a frame can only start at a multiple
// of 8, which the torn-tail scan relies on).
//
// The LSN of the first frame of a segment is the header's first LSN; each
// next frame's is +1; the next segment's first LSN is the last LSN + 1. The
// payload's own lsn field must agree with its frame (a mismatch is
// ErrCorrupt), which catches a writer bug that framed the wrong payload.
//
// The active segment is preallocated with zeros to Options.SegmentSize
// (fallocate), and written with zeros a MiB ahead of its last frame
// (zeroFillLocked).
// The end of the records is a frame position where the length is 0 and
// every byte from there to the end of the file is 0 (or the end of the
// file itself). Sealed segments are truncated to their last frame.
//
// # Batches
//
// A batch (EnqueueBatch, AppendBatch) is consecutive frames whose every
// frame but the last has the continues bit set. It is queued under one
// lock hold and written with one write, so it lies in one segment.
// Readers verify a batch to its last frame before delivering its first: a
// batch without its last frame is a torn tail starting at its first frame
// in the last segment (Open cuts it whole), and corruption in a sealed
// one. In a version 1 segment bit 31 is part of the length (too large:
// damage). A writable Open of a log whose active segment is version 1
// starts a version 2 segment first (upgradeActive), so that an older
// build refuses what this one wrote instead of cutting a batch as damage.
//
// # Torn tail versus corruption
//
// A frame is damaged when its header is short, its length is 0 with nonzero
// bytes after it, its length exceeds MaxRecordSize or the file, or its CRC
// does not match. Damage is a torn tail only when it is in the log's last
// segment and no frame with a valid CRC and a later LSN starts at any
// 8-byte aligned offset after it; the torn tail is cut off by Open (after
// its bytes are saved to "<segment>.broken"). Any other damage, a
// CRC-valid frame with an unexpected LSN, a gap or overlap between
// segments, and a bad segment header are corruption: ErrCorrupt naming the
// segment, the offset and the expected LSN, never repaired automatically.
//
// A bit flip inside the last record of the log cannot be told from a torn
// write; it is treated as torn: the record is cut and kept in the .broken
// file.
//
// # Snapshot files (version 1)
//
// A snapshot is "<20-digit lsn>.snap" (for example
// "00000000000000004096.snap" holds the state after record 4096): a
// 48-byte header, then the body.
//
//	offset size field
//	0      8    magic "ISTCSNAP"
//	8      2    format version, 1
//	10     1    checksum algorithm, 1 = CRC-32C
//	11     1    flags, 0 (none defined; any set flag is refused)
//	12     4    reserved, 0
//	16     8    lsn, equal to the one in the file name
//	24     8    body length; the file is exactly 48 + length bytes
//	32     4    CRC of the body
//	36     8    reserved, 0
//	44     4    CRC of bytes 0..43
//	48     ...  body (starts 8-byte aligned)
//
// A reader checks the magic, then the header CRC, and only then the
// version, algorithm and flags (ErrVersion), so a flipped header bit is
// damage (the snapshot is skipped) and never taken for a newer format.
// Every version keeps this header with its CRC at 44. A temporary
// "<name>.tmp" is never read and is removed by the next WriteSnapshot.
//
// See docs/FORMAT.md for rotation and snapshot steps and crash safety, and
// RATIONALE.md for the design choices and limits.
package persistence
