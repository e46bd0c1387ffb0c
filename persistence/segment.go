package persistence

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Segment header layout (see doc.go). All integers are little-endian.
const (
	// segMagic opens every segment file; a file without it is not ours.
	segMagic = "INTSTLOG"
	// formatVersion is the version this build writes. Version 2 added
	// batches (frameContinues); version 1 segments, which have none, are
	// still read. Any other value is refused with ErrVersion rather than
	// misread.
	formatVersion = 2
	// oldestFormatVersion is the oldest version this build reads.
	oldestFormatVersion = 1
	// checksumCRC32C identifies CRC-32C (Castagnoli) for frames and header.
	checksumCRC32C = 1
	// segHeaderSize is 32 so that the first frame starts 8-byte aligned.
	segHeaderSize = 32

	segSuffix    = ".log"
	tmpSuffix    = ".tmp"
	brokenSuffix = ".broken"
	// segNameDigits is the width of the decimal first LSN in a segment name:
	// 20 digits hold any uint64 and keep lexical order equal to LSN order.
	segNameDigits = 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segHeader is the decoded fixed header of a segment.
type segHeader struct {
	version  uint16
	algo     uint8
	firstLSN uint64
	sizeKiB  uint32 // the segment size in KiB when it was preallocated in steps; 0: its length is its size
}

// lengthMask is the part of a frame's length field that is the payload
// length in a segment of h's version: all of it in version 1, all but
// the frameContinues bit from version 2 (decoder.go).
func (h segHeader) lengthMask() uint32 {
	if h.version >= 2 {
		return frameContinues - 1
	}
	return ^uint32(0)
}

// preallocStep is how much of a new segment is preallocated when it is
// created: the whole segment when it is at most this size, else this much,
// the file growing a zeroFillChunk at a time ahead of the frames
// (zeroFillLocked). A new log then takes about 1 MiB on disk, not 64.
var preallocStep int64 = zeroFillChunk

// preallocSize is how much of a segment of size bytes createSegment
// preallocates, and the header's size field for it (0 when it is whole).
func preallocSize(size int64) (alloc int64, sizeKiB uint32) {
	if size <= preallocStep {
		return size, 0
	}
	return preallocStep, uint32(size >> 10)
}

// segmentName returns the file name of the segment whose first LSN is lsn,
// for example segmentName(1) == "00000000000000000001.log".
func segmentName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segNameDigits, first, segSuffix)
}

// parseSegmentName returns the first LSN encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != segNameDigits+len(segSuffix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	digits := name[:segNameDigits]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// encodeSegHeader writes the 32-byte header for a segment starting at
// first; sizeKiB is the size field (0 for a segment preallocated whole).
func encodeSegHeader(b []byte, first uint64, sizeKiB uint32) {
	_ = b[segHeaderSize-1]
	copy(b[0:8], segMagic)
	binary.LittleEndian.PutUint16(b[8:10], formatVersion)
	b[10] = checksumCRC32C
	b[11] = 0
	binary.LittleEndian.PutUint32(b[12:16], sizeKiB)
	binary.LittleEndian.PutUint64(b[16:24], first)
	binary.LittleEndian.PutUint32(b[24:28], 0)
	binary.LittleEndian.PutUint32(b[28:32], crc32.Checksum(b[0:28], crcTable))
}

// decodeSegHeader checks and decodes a segment header, in this order:
// length and magic, then the header checksum (ErrCorrupt), and only then
// the version and checksum algorithm (ErrVersion) and the first LSN. A
// flipped bit anywhere in the header is therefore damage, never taken for a
// newer format: only a header whose checksum verifies can claim a version
// this build does not know. Every format version keeps this 32-byte header
// with a CRC-32C of bytes 0..27 at offset 28 (doc.go). Errors name the LSN
// the segment's file name gives, the first LSN expected there.
func decodeSegHeader(b []byte, seg string) (segHeader, error) {
	lsn, _ := parseSegmentName(seg)
	if len(b) < segHeaderSize {
		return segHeader{}, placeErr(ErrCorrupt, seg, 0, lsn, "segment header is %d bytes, want %d", len(b), segHeaderSize)
	}
	if string(b[0:8]) != segMagic {
		return segHeader{}, placeErr(ErrCorrupt, seg, 0, lsn, "bad segment magic %q", b[0:8])
	}
	if got, want := crc32.Checksum(b[0:28], crcTable), binary.LittleEndian.Uint32(b[28:32]); got != want {
		return segHeader{}, placeErr(ErrCorrupt, seg, 0, lsn, "segment header checksum mismatch: stored %08x computed %08x", want, got)
	}
	h := segHeader{version: binary.LittleEndian.Uint16(b[8:10]), algo: b[10], firstLSN: binary.LittleEndian.Uint64(b[16:24]),
		sizeKiB: binary.LittleEndian.Uint32(b[12:16])}
	if h.version < oldestFormatVersion || h.version > formatVersion {
		return h, placeErr(ErrVersion, seg, 0, lsn, "format version %d, this build reads versions %d to %d", h.version, oldestFormatVersion, formatVersion)
	}
	if h.algo != checksumCRC32C {
		return h, placeErr(ErrVersion, seg, 0, lsn, "checksum algorithm %d, this build knows only %d (CRC-32C)", h.algo, checksumCRC32C)
	}
	if h.firstLSN == 0 {
		return h, placeErr(ErrCorrupt, seg, 0, lsn, "segment header first lsn is 0")
	}
	return h, nil
}

// segInfo is a segment known to a Log or a reader.
type segInfo struct {
	name  string
	first uint64
}

// listSegments returns the segments of dir sorted by first LSN, and the
// names of leftover temporary segment files.
func listSegments(fsys FS, dir string) (segs []segInfo, tmps []string, err error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if strings.HasSuffix(n, segSuffix+tmpSuffix) {
			if _, ok := parseSegmentName(strings.TrimSuffix(n, tmpSuffix)); ok {
				tmps = append(tmps, n)
			}
			continue
		}
		if first, ok := parseSegmentName(n); ok {
			segs = append(segs, segInfo{name: n, first: first})
		}
	}
	// Names are fixed-width decimal, so ReadDir's lexical order is LSN order.
	return segs, tmps, nil
}

// createSegment makes a new segment starting at first, crash-safely:
//
//  1. create "<name>.tmp", write the header, preallocate (preallocSize);
//  2. fsync the temporary file;
//  3. rename it to "<name>";
//  4. fsync the directory.
//
// A crash before step 3 leaves only a ".tmp" file, which Open deletes. A
// crash after step 3 leaves a complete, empty segment.
func createSegment(fsys FS, dir string, first uint64, size int64) (File, error) {
	name := segmentName(first)
	final := filepath.Join(dir, name)
	tmp := final + tmpSuffix
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("persistence: create segment %s: %w", name, err)
	}
	fail := func(step string, err error) (File, error) {
		f.Close()
		fsys.Remove(tmp)
		return nil, fmt.Errorf("persistence: create segment %s: %s: %w", name, step, err)
	}
	alloc, sizeKiB := preallocSize(size)
	var hdr [segHeaderSize]byte
	encodeSegHeader(hdr[:], first, sizeKiB)
	if _, err := f.WriteAt(hdr[:], 0); err != nil {
		return fail("write header", err)
	}
	if err := f.Allocate(alloc); err != nil {
		return fail("preallocate", err)
	}
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return fail("rename", err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("persistence: create segment %s: fsync directory: %w", name, err)
	}
	return f, nil
}

// readSegmentHeader reads and checks the header of one segment file.
func readSegmentHeader(fsys FS, dir string, s segInfo) (segHeader, error) {
	f, err := fsys.OpenFile(filepath.Join(dir, s.name), os.O_RDONLY, 0)
	if err != nil {
		return segHeader{}, err
	}
	defer f.Close()
	var b [segHeaderSize]byte
	n, _ := f.ReadAt(b[:], 0)
	h, err := decodeSegHeader(b[:n], s.name)
	if err != nil {
		return h, err
	}
	if h.firstLSN != s.first {
		return h, placeErr(ErrCorrupt, s.name, 0, s.first, "header first lsn %d disagrees with the file name", h.firstLSN)
	}
	return h, nil
}

// readWhole reads up to limit bytes (limit < 0: the whole file) of a file
// into buf, growing it as needed, and returns the bytes read.
func readWhole(f File, buf []byte, limit int64) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return buf[:0], err
	}
	if limit >= 0 && size > limit {
		size = limit
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	n, err := f.ReadAt(buf, 0)
	if int64(n) == size {
		err = nil
	}
	return buf[:n], err
}
