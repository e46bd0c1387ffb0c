package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Snapshot file layout (see doc.go and docs/FORMAT.md). All integers are
// little-endian.
const (
	// snapMagic opens every snapshot file.
	snapMagic = "ISTCSNAP"
	// snapVersion is the only snapshot format version this build reads and
	// writes; any other is refused with ErrVersion.
	snapVersion = 1
	// snapHeaderSize is 48 so that the body starts 8-byte aligned.
	snapHeaderSize = 48
	snapSuffix     = ".snap"
)

// SnapshotInfo describes one snapshot file, as listed by ListSnapshots.
type SnapshotInfo struct {
	Name      string // file name, "<20-digit lsn>.snap"
	LSN       uint64 // the LSN the snapshot covers, from the name
	Bytes     int64  // file size
	BodyBytes int64  // body length from the header (0 if unreadable)
	// Valid reports that the header and the body checksum verify and the
	// header's LSN equals the name's. Otherwise Problem says why; its
	// Segment field holds the snapshot's file name and its Err wraps
	// ErrCorrupt or ErrVersion.
	Valid   bool
	Problem *Problem
}

// snapshotName returns the file name of the snapshot at lsn, for example
// snapshotName(4096) == "00000000000000004096.snap".
func snapshotName(lsn uint64) string {
	return fmt.Sprintf("%0*d%s", segNameDigits, lsn, snapSuffix)
}

func parseSnapshotName(name string) (uint64, bool) {
	if len(name) != segNameDigits+len(snapSuffix) || !strings.HasSuffix(name, snapSuffix) {
		return 0, false
	}
	for i := 0; i < segNameDigits; i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(name[:segNameDigits], 10, 64)
	return v, err == nil
}

// encodeSnapHeader fills the 48-byte header of a snapshot of body at lsn.
func encodeSnapHeader(h []byte, lsn uint64, body []byte) {
	_ = h[snapHeaderSize-1]
	clear(h[:snapHeaderSize])
	copy(h[0:8], snapMagic)
	binary.LittleEndian.PutUint16(h[8:10], snapVersion)
	h[10] = checksumCRC32C
	h[11] = 0 // flags: none defined
	binary.LittleEndian.PutUint64(h[16:24], lsn)
	binary.LittleEndian.PutUint64(h[24:32], uint64(len(body)))
	binary.LittleEndian.PutUint32(h[32:36], crc32.Checksum(body, crcTable))
	binary.LittleEndian.PutUint32(h[44:48], crc32.Checksum(h[0:44], crcTable))
}

// decodeSnapshot verifies a whole snapshot file image and returns its LSN
// and body (a subslice of data). The header CRC is checked right after the
// magic, so a flipped bit anywhere in the header is ErrCorrupt (and the
// snapshot is skipped), never mistaken for a newer format; only a header
// whose CRC verifies can be refused with ErrVersion for its version,
// checksum algorithm or flags. Every format version keeps this 48-byte
// header with the header CRC at bytes 44..47.
func decodeSnapshot(name string, data []byte) (lsn uint64, body []byte, err error) {
	bad := func(format string, args ...any) (uint64, []byte, error) {
		return 0, nil, fmt.Errorf("%w: snapshot %s: %s", ErrCorrupt, name, fmt.Sprintf(format, args...))
	}
	if len(data) < snapHeaderSize {
		return bad("file is %d bytes, shorter than the %d-byte snapshot header (truncated)", len(data), snapHeaderSize)
	}
	if string(data[0:8]) != snapMagic {
		return bad("bad magic %q, want %q", data[0:8], snapMagic)
	}
	if got, want := crc32.Checksum(data[0:44], crcTable), binary.LittleEndian.Uint32(data[44:48]); got != want {
		return bad("header checksum mismatch: stored %08x computed %08x", want, got)
	}
	if v := binary.LittleEndian.Uint16(data[8:10]); v != snapVersion {
		return 0, nil, fmt.Errorf("%w: snapshot %s: format version %d, this build reads only version %d; use a newer build or move the file aside", ErrVersion, name, v, snapVersion)
	}
	if a := data[10]; a != checksumCRC32C {
		return 0, nil, fmt.Errorf("%w: snapshot %s: checksum algorithm %d, this build knows only %d (CRC-32C)", ErrVersion, name, a, checksumCRC32C)
	}
	if f := data[11]; f != 0 {
		return 0, nil, fmt.Errorf("%w: snapshot %s: flags %#02x, this build knows none", ErrVersion, name, f)
	}
	lsn = binary.LittleEndian.Uint64(data[16:24])
	n := binary.LittleEndian.Uint64(data[24:32])
	if have := uint64(len(data) - snapHeaderSize); n != have {
		return bad("header says %d body bytes, the file holds %d (truncated or extended)", n, have)
	}
	body = data[snapHeaderSize:]
	if got, want := crc32.Checksum(body, crcTable), binary.LittleEndian.Uint32(data[32:36]); got != want {
		return bad("body checksum mismatch: stored %08x computed %08x", want, got)
	}
	return lsn, body, nil
}

// WriteSnapshot writes body, the state as of record lsn (an opaque byte
// string to this package; the runtime stores an encoded fb.Snapshot), to
// "<dir>/<20-digit lsn>.snap" and returns the file name. The steps, and
// what a crash at each leaves:
//
//  1. remove leftover "*.snap.tmp" files of earlier interrupted writes;
//  2. create "<name>.tmp", write the header and the body, fsync it. Crash:
//     a ".tmp" file, ignored by every reader and removed by step 1 of the
//     next WriteSnapshot;
//  3. rename it to "<name>". Crash: the complete snapshot is visible, or
//     (the rename not yet durable) only the ".tmp" file;
//  4. fsync dir. From here the snapshot survives a power loss.
//
// So a crash leaves either no new snapshot or a complete one. A snapshot
// already present at lsn is replaced atomically. lsn must be >= 1. Of
// opts, only FS is used. dir must exist. Calls for one directory must not
// run concurrently (step 1 would remove the other call's temporary file);
// the runtime that owns the log serializes them.
func WriteSnapshot(dir string, lsn uint64, body []byte, opts ...Options) (string, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return "", err
	}
	if lsn == 0 {
		return "", errors.New("persistence: write snapshot: lsn 0 (a snapshot covers records 1..lsn, lsn >= 1)")
	}
	fsys := o.FS
	name := snapshotName(lsn)
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("persistence: write snapshot %s: list directory: %w", name, err)
	}
	for _, n := range names {
		if _, ok := parseSnapshotName(strings.TrimSuffix(n, tmpSuffix)); ok && strings.HasSuffix(n, snapSuffix+tmpSuffix) {
			if err := fsys.Remove(filepath.Join(dir, n)); err != nil {
				return "", fmt.Errorf("persistence: write snapshot %s: remove leftover %s: %w", name, n, err)
			}
		}
	}
	final := filepath.Join(dir, name)
	tmp := final + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("persistence: write snapshot %s: create: %w", name, err)
	}
	fail := func(step string, err error) (string, error) {
		if f != nil {
			f.Close()
		}
		fsys.Remove(tmp)
		return "", fmt.Errorf("persistence: write snapshot %s: %s: %w", name, step, err)
	}
	var hdr [snapHeaderSize]byte
	encodeSnapHeader(hdr[:], lsn, body)
	if _, err := f.WriteAt(hdr[:], 0); err != nil {
		return fail("write header", err)
	}
	if len(body) > 0 {
		if _, err := f.WriteAt(body, snapHeaderSize); err != nil {
			return fail("write body", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return fail("close", err)
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return fail("rename", err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		// The snapshot is complete and visible but its name may not survive a
		// power loss; report it so that the caller does not rely on it (for
		// example by raising the retention floor).
		return "", fmt.Errorf("persistence: write snapshot %s: fsync directory: %w", name, err)
	}
	return name, nil
}

// snapshotNames returns the snapshot files of dir with their LSNs, oldest
// first.
func snapshotNames(fsys FS, dir string) ([]string, []uint64, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	var lsns []uint64
	for _, n := range names {
		if lsn, ok := parseSnapshotName(n); ok {
			out = append(out, n)
			lsns = append(lsns, lsn)
		}
	}
	// Fixed-width names: lexical order is LSN order; sort anyway in case an
	// FS returns another order.
	sort.Sort(byLSN{out, lsns})
	return out, lsns, nil
}

type byLSN struct {
	names []string
	lsns  []uint64
}

func (b byLSN) Len() int           { return len(b.names) }
func (b byLSN) Less(i, j int) bool { return b.lsns[i] < b.lsns[j] }
func (b byLSN) Swap(i, j int) {
	b.names[i], b.names[j] = b.names[j], b.names[i]
	b.lsns[i], b.lsns[j] = b.lsns[j], b.lsns[i]
}

// readSnapshot reads and verifies one snapshot file. It returns the body
// (owned by the caller), the file size, and a Problem if it is not valid;
// err is for I/O errors other than damage.
func readSnapshot(fsys FS, dir, name string, nameLSN uint64) (body []byte, size int64, prob *Problem, err error) {
	f, err := fsys.OpenFile(filepath.Join(dir, name), os.O_RDONLY, 0)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("persistence: open snapshot %s: %w", name, err)
	}
	data, err := readWhole(f, nil, -1)
	f.Close()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("persistence: read snapshot %s: %w", name, err)
	}
	size = int64(len(data))
	lsn, b, derr := decodeSnapshot(name, data)
	if derr == nil && lsn != nameLSN {
		derr = fmt.Errorf("%w: snapshot %s: header lsn %d disagrees with the file name", ErrCorrupt, name, lsn)
	}
	if derr != nil {
		return nil, size, &Problem{Segment: name, LSN: nameLSN, Reason: derr.Error(), Err: derr}, nil
	}
	return b, size, nil, nil
}

// ListSnapshots lists the snapshots in dir, oldest first, verifying each
// one's header and body checksum (it reads every snapshot whole). Of opts,
// only FS is used. Temporary files are not listed.
func ListSnapshots(dir string, opts ...Options) ([]SnapshotInfo, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return nil, err
	}
	names, lsns, err := snapshotNames(o.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: list snapshots: %w", err)
	}
	out := make([]SnapshotInfo, 0, len(names))
	for i, n := range names {
		body, size, prob, err := readSnapshot(o.FS, dir, n, lsns[i])
		if err != nil {
			return out, err
		}
		out = append(out, SnapshotInfo{Name: n, LSN: lsns[i], Bytes: size, BodyBytes: int64(len(body)), Valid: prob == nil, Problem: prob})
	}
	return out, nil
}

// ReadNewestSnapshot returns the body of the newest valid snapshot in dir
// whose lsn is <= maxLSN, and that lsn. Pass the log's last LSN as maxLSN:
// a snapshot newer than the log should not exist (the runtime writes a
// snapshot only of acknowledged state), and if one does it must not be
// trusted. Every snapshot passed over is reported in skipped, newest
// first: one above maxLSN, or one that fails its checksum or is truncated
// (ErrCorrupt), in favour of an older one. With no valid snapshot it
// returns lsn 0 and a nil body: replay the log from its start.
//
// A snapshot of an unknown format version (written by a newer build) is
// not skipped: ReadNewestSnapshot fails with ErrVersion naming it, because
// quietly falling back to older state is not this build's call to make.
// Move the file aside to proceed without it.
//
// Of opts, only FS is used.
func ReadNewestSnapshot(dir string, maxLSN uint64, opts ...Options) (lsn uint64, body []byte, skipped []Problem, err error) {
	o, err := firstOptions(opts)
	if err != nil {
		return 0, nil, nil, err
	}
	names, lsns, err := snapshotNames(o.FS, dir)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("persistence: list snapshots: %w", err)
	}
	for i := len(names) - 1; i >= 0; i-- {
		if lsns[i] > maxLSN {
			skipped = append(skipped, Problem{Segment: names[i], LSN: lsns[i],
				Reason: fmt.Sprintf("snapshot lsn %d is above the log's last lsn %d; not trusted", lsns[i], maxLSN),
				Err:    fmt.Errorf("%w: snapshot %s is at lsn %d, above the log's last lsn %d", ErrCorrupt, names[i], lsns[i], maxLSN)})
			continue
		}
		b, _, prob, err := readSnapshot(o.FS, dir, names[i], lsns[i])
		if err != nil {
			return 0, nil, skipped, err
		}
		if prob != nil {
			if errors.Is(prob.Err, ErrVersion) {
				return 0, nil, skipped, prob.Err
			}
			skipped = append(skipped, *prob)
			continue
		}
		return lsns[i], b, skipped, nil
	}
	return 0, nil, skipped, nil
}

// PruneSnapshots deletes every valid snapshot in dir except the newest
// keep (keep < 1 counts as 1: the newest valid snapshot is never deleted),
// then fsyncs the directory, and returns the names deleted. Damaged
// snapshots and those of an unknown version are left for the operator
// (ListSnapshots reports them). Of opts, only FS is used.
//
// Pair it with the log's retention: protect the log from the oldest
// snapshot kept (Log.SetProtectedLSN), so that if the newest snapshot is
// later found damaged, the older one plus the log still rebuild the state.
func PruneSnapshots(dir string, keep int, opts ...Options) ([]string, error) {
	o, err := firstOptions(opts)
	if err != nil {
		return nil, err
	}
	keep = max(keep, 1)
	infos, err := ListSnapshots(dir, o)
	if err != nil {
		return nil, err
	}
	var removed []string
	kept := 0
	for i := len(infos) - 1; i >= 0; i-- {
		s := infos[i]
		if !s.Valid {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := o.FS.Remove(filepath.Join(dir, s.Name)); err != nil {
			err = fmt.Errorf("persistence: prune snapshot %s: %w", s.Name, err)
			if len(removed) > 0 {
				if serr := o.FS.SyncDir(dir); serr != nil {
					err = errors.Join(err, serr)
				}
			}
			return removed, err
		}
		removed = append(removed, s.Name)
	}
	if len(removed) > 0 {
		if err := o.FS.SyncDir(dir); err != nil {
			return removed, fmt.Errorf("persistence: prune snapshots: fsync directory: %w", err)
		}
	}
	return removed, nil
}
