package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// frameHeader is a decoded frame header.
type frameHeader struct {
	crc    uint32
	length uint32
	lsn    uint64
}

// decodeFrameHeader decodes b[0:16]. It is the only place that reads a
// frame header.
func decodeFrameHeader(b []byte) frameHeader {
	_ = b[frameHeaderSize-1]
	return frameHeader{
		crc:    binary.LittleEndian.Uint32(b[0:4]),
		length: binary.LittleEndian.Uint32(b[4:8]),
		lsn:    binary.LittleEndian.Uint64(b[8:16]),
	}
}

// Problem locates damage in a log.
type Problem struct {
	Segment string // segment file name
	Offset  int64  // byte offset of the damaged frame (0: the header)
	LSN     uint64 // the LSN expected at that place
	Reason  string // what is wrong, in words
	Err     error  // the wrapped sentinel error (ErrCorrupt, ErrTornTail, ErrVersion)
}

func (p *Problem) String() string {
	if p == nil {
		return "none"
	}
	return fmt.Sprintf("segment %s offset %d lsn %d: %s", p.Segment, p.Offset, p.LSN, p.Reason)
}

var zeroPage [4096]byte

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroPage))
		if !bytes.Equal(b[:n], zeroPage[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// lastNonZero returns the length of b without its trailing zero bytes.
func lastNonZero(b []byte) int {
	n := len(b)
	for n > 0 {
		k := min(n, len(zeroPage))
		if !bytes.Equal(b[n-k:n], zeroPage[:k]) {
			break
		}
		n -= k
	}
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}

// frameIter walks the frames of one segment image (the whole file, or a
// prefix of it known to be complete). It checks every frame's checksum, the
// LSN chain, the payload with the record verifier (verify.go) and the
// payload's own LSN, and on damage decides between a
// torn tail and corruption:
//
//   - damage is torn only in the last segment of the log and only when no
//     frame with a valid checksum and a later LSN follows it;
//   - anything else (damage in a sealed segment, a valid frame after the
//     damage, a valid frame with the wrong LSN) is corruption.
type frameIter struct {
	seg   string
	data  []byte
	off   int
	want  uint64 // LSN the next frame must carry
	last  bool   // the segment is the log's last: it may end torn
	check Check  // the payload check (Options.Check), or nil

	torn *Problem // set when the walk ended at a torn tail
	err  error    // set when the walk ended at corruption
	prob *Problem // the corruption's place
}

func newFrameIter(seg string, data []byte, first uint64, last bool, check Check) frameIter {
	return frameIter{seg: seg, data: data, off: segHeaderSize, want: first, last: last, check: check}
}

// next returns the next valid frame, or ok == false at the end of the
// segment. After ok == false, it.err reports corruption and it.torn a torn
// tail; both nil means a clean end.
func (it *frameIter) next() (lsn uint64, off int, payload []byte, ok bool) {
	if it.err != nil || it.torn != nil || it.off >= len(it.data) {
		return 0, 0, nil, false
	}
	off = it.off
	rest := it.data[off:]
	if len(rest) < frameHeaderSize {
		if allZero(rest) {
			return 0, 0, nil, false
		}
		return it.damaged(off, "short frame header: %d bytes left", len(rest))
	}
	h := decodeFrameHeader(rest)
	if h.length == 0 {
		if allZero(rest) {
			it.off = len(it.data)
			return 0, 0, nil, false
		}
		return it.damaged(off, "zero-length frame followed by nonzero bytes")
	}
	if h.length > MaxRecordSize {
		return it.damaged(off, "frame length %d exceeds the maximum %d", h.length, MaxRecordSize)
	}
	end := frameHeaderSize + int(h.length)
	if end > len(rest) {
		return it.damaged(off, "frame of %d bytes runs past the end of the segment (%d bytes left)", end, len(rest))
	}
	if c := crc32.Checksum(rest[4:end], crcTable); c != h.crc {
		return it.damaged(off, "checksum mismatch: stored %08x computed %08x", h.crc, c)
	}
	if h.lsn != it.want {
		return it.corrupt(off, "frame carries lsn %d where lsn %d was expected", h.lsn, it.want)
	}
	payload = rest[frameHeaderSize:end]
	// A CRC-valid frame whose payload does not pass the check was written
	// so (a writer bug or a forged record), not torn: corruption, never cut
	// as a tail and never handed to a decoder.
	if it.check != nil {
		if err := it.check(h.lsn, payload); err != nil {
			return it.corrupt(off, "%v", err)
		}
	}
	it.off = off + frameSize(int(h.length))
	it.want++
	return h.lsn, off, payload, true
}

func (it *frameIter) corrupt(off int, format string, args ...any) (uint64, int, []byte, bool) {
	reason := fmt.Sprintf(format, args...)
	it.prob = &Problem{Segment: it.seg, Offset: int64(off), LSN: it.want, Reason: reason}
	it.err = placeErr(ErrCorrupt, it.seg, int64(off), it.want, "%s", reason)
	it.prob.Err = it.err
	return 0, 0, nil, false
}

func (it *frameIter) damaged(off int, format string, args ...any) (uint64, int, []byte, bool) {
	reason := fmt.Sprintf(format, args...)
	if !it.last {
		return it.corrupt(off, "%s (in a sealed segment)", reason)
	}
	if at, ok := validFrameAfter(it.data, off+frameAlign, it.want-1); ok {
		return it.corrupt(off, "%s, and a valid frame follows at offset %d", reason, at)
	}
	it.torn = &Problem{Segment: it.seg, Offset: int64(off), LSN: it.want, Reason: reason}
	it.torn.Err = placeErr(ErrTornTail, it.seg, int64(off), it.want, "%s", reason)
	return 0, 0, nil, false
}

// validFrameAfter reports whether a frame with a valid checksum and an LSN
// after afterLSN starts at any 8-byte aligned offset >= from. Such a frame
// proves that the damage before it is not a torn tail.
func validFrameAfter(data []byte, from int, afterLSN uint64) (int, bool) {
	from = (from + frameAlign - 1) &^ (frameAlign - 1)
	if from >= len(data) {
		return 0, false
	}
	// A frame is at least 24 bytes, so no more LSNs than this can follow.
	maxAhead := uint64(len(data)-from)/uint64(frameSize(1)) + 1
	for o := from; o+frameHeaderSize <= len(data); o += frameAlign {
		h := decodeFrameHeader(data[o:])
		if h.length == 0 || h.length > MaxRecordSize || o+frameHeaderSize+int(h.length) > len(data) {
			continue
		}
		if h.lsn <= afterLSN || h.lsn-afterLSN > maxAhead {
			continue
		}
		if crc32.Checksum(data[o+4:o+frameHeaderSize+int(h.length)], crcTable) == h.crc {
			return o, true
		}
	}
	return 0, false
}

// decodeSegment walks one whole segment image as if it were the last
// segment of a log and returns the number of valid records, the offset
// after the last one, and the torn tail or corruption found. It is the
// entry point of FuzzDecodeSegment and never panics on any input.
func decodeSegment(name string, data []byte, check Check) (records int, end int, torn *Problem, err error) {
	h, err := decodeSegHeader(data, name)
	if err != nil {
		return 0, 0, nil, err
	}
	it := newFrameIter(name, data, h.firstLSN, true, check)
	end = segHeaderSize
	for {
		_, off, payload, ok := it.next()
		if !ok {
			break
		}
		records++
		end = off + frameSize(len(payload))
	}
	return records, end, it.torn, it.err
}
