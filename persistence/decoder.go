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

// frameContinues is bit 31 of a frame's length field from format version
// 2: the next frame belongs to the same batch. A batch is the frames from
// one without the bit (or the start of the segment) through the next one
// without it; it lies in one segment, and a reader delivers all of it or
// none of it (AppendBatch, EnqueueBatch). In a version 1 segment the bit
// is part of the length, which it makes too large: damage, as before.
const frameContinues = 1 << 31

// frameIter walks the frames of one segment image (the whole file, or a
// prefix of it known to be complete). It checks every frame's checksum, the
// LSN chain, the payload with the record check and the batch it belongs
// to, and on damage decides between a torn tail and corruption:
//
//   - damage is torn only in the last segment of the log and only when no
//     frame with a valid checksum and a later LSN follows it;
//   - a batch without its last frame (the records end, or damage that is
//     torn, before a frame without frameContinues) is torn at the batch's
//     first frame, so a torn batch is cut whole and none of it is read;
//   - anything else (damage in a sealed segment, a valid frame after the
//     damage, a valid frame with the wrong LSN, a sealed segment that ends
//     inside a batch) is corruption.
type frameIter struct {
	seg   string
	data  []byte
	off   int
	want  uint64 // LSN the next frame must carry
	last  bool   // the segment is the log's last: it may end torn
	check Check  // the payload check (Options.Check), or nil
	mask  uint32 // the length bits of a frame's length field (segHeader.lengthMask)
	// batchEnd: the frames before this offset belong to a batch that
	// completeBatch verified whole; they are delivered without a second
	// verification.
	batchEnd int

	torn *Problem // set when the walk ended at a torn tail
	err  error    // set when the walk ended at corruption
	prob *Problem // the corruption's place
}

func newFrameIter(seg string, data []byte, h segHeader, last bool, check Check) frameIter {
	return frameIter{seg: seg, data: data, off: segHeaderSize, want: h.firstLSN, last: last, check: check, mask: h.lengthMask()}
}

// frameStatus is what readFrame found at an offset.
type frameStatus uint8

const (
	frameOK      frameStatus = iota
	frameEnd                 // the clean end of the records (zeros, or the end of the data)
	frameDamaged             // not a valid frame: torn or corrupt, as frameIter decides
	frameCorrupt             // a frame with a valid checksum that is wrong: always corruption
)

// readFrame reads and verifies the frame at off, which must carry want.
// It returns the header, the payload length, and why it is not a valid
// frame when it is not.
func (it *frameIter) readFrame(off int, want uint64) (frameHeader, int, frameStatus, string) {
	if off >= len(it.data) {
		return frameHeader{}, 0, frameEnd, "" // the last frame's padding may be cut off
	}
	rest := it.data[off:]
	if len(rest) < frameHeaderSize {
		if allZero(rest) {
			return frameHeader{}, 0, frameEnd, ""
		}
		return frameHeader{}, 0, frameDamaged, fmt.Sprintf("short frame header: %d bytes left", len(rest))
	}
	h := decodeFrameHeader(rest)
	if h.length == 0 {
		if allZero(rest) {
			return h, 0, frameEnd, ""
		}
		return h, 0, frameDamaged, "zero-length frame followed by nonzero bytes"
	}
	n := h.length & it.mask
	if n == 0 {
		return h, 0, frameDamaged, "zero-length frame with the batch flag"
	}
	if n > MaxRecordSize {
		return h, 0, frameDamaged, fmt.Sprintf("frame length %d exceeds the maximum %d", h.length, MaxRecordSize)
	}
	end := frameHeaderSize + int(n)
	if end > len(rest) {
		return h, 0, frameDamaged, fmt.Sprintf("frame of %d bytes runs past the end of the segment (%d bytes left)", end, len(rest))
	}
	if c := crc32.Checksum(rest[4:end], crcTable); c != h.crc {
		return h, 0, frameDamaged, fmt.Sprintf("checksum mismatch: stored %08x computed %08x", h.crc, c)
	}
	if h.lsn != want {
		return h, 0, frameCorrupt, fmt.Sprintf("frame carries lsn %d where lsn %d was expected", h.lsn, want)
	}
	// A CRC-valid frame whose payload does not pass the check was written
	// so (a writer bug or a forged record), not torn: corruption, never cut
	// as a tail and never handed to a decoder.
	if it.check != nil {
		if err := it.check(h.lsn, rest[frameHeaderSize:end]); err != nil {
			return h, 0, frameCorrupt, err.Error()
		}
	}
	return h, int(n), frameOK, ""
}

// next returns the next valid frame, or ok == false at the end of the
// segment. After ok == false, it.err reports corruption and it.torn a torn
// tail; both nil means a clean end.
func (it *frameIter) next() (lsn uint64, off int, payload []byte, ok bool) {
	if it.err != nil || it.torn != nil || it.off >= len(it.data) {
		return 0, 0, nil, false
	}
	off = it.off
	var n int
	if off < it.batchEnd {
		n = int(decodeFrameHeader(it.data[off:]).length & it.mask)
	} else {
		h, size, st, reason := it.readFrame(off, it.want)
		switch st {
		case frameEnd:
			it.off = len(it.data)
			return 0, 0, nil, false
		case frameDamaged:
			it.damaged(off, it.want, off, it.want, reason)
			return 0, 0, nil, false
		case frameCorrupt:
			it.corrupt(off, it.want, reason)
			return 0, 0, nil, false
		}
		if h.length&^it.mask != 0 && !it.completeBatch(off, size) {
			return 0, 0, nil, false
		}
		n = size
	}
	payload = it.data[off+frameHeaderSize : off+frameHeaderSize+n]
	it.off = off + frameSize(n)
	it.want++
	return it.want - 1, off, payload, true
}

// completeBatch verifies the rest of the batch whose first frame, of n
// payload bytes, is at start, through its frame without frameContinues,
// and reports whether it is whole; when it is not, the walk ends at it.
func (it *frameIter) completeBatch(start, n int) bool {
	first := it.want
	o, want := start+frameSize(n), first+1
	for {
		h, size, st, reason := it.readFrame(o, want)
		switch st {
		case frameOK:
			o, want = o+frameSize(size), want+1
			if h.length&^it.mask == 0 {
				it.batchEnd = o
				return true
			}
			continue
		case frameCorrupt:
			it.corrupt(o, want, reason)
			return false
		case frameEnd:
			reason = "the records end"
		}
		reason = fmt.Sprintf("batch from lsn %d has no last frame: %s at offset %d (lsn %d)", first, reason, o, want)
		if st == frameEnd && !it.last {
			it.corrupt(start, first, reason+" (in a sealed segment)")
		} else {
			it.damaged(o, want, start, first, reason)
		}
		return false
	}
}

func (it *frameIter) corrupt(off int, lsn uint64, reason string) {
	it.prob = &Problem{Segment: it.seg, Offset: int64(off), LSN: lsn, Reason: reason}
	it.err = placeErr(ErrCorrupt, it.seg, int64(off), lsn, "%s", reason)
	it.prob.Err = it.err
}

// damaged ends the walk at damage found at off, where lsn was expected:
// corruption unless the damage may be a torn tail, which then starts at
// tornOff with tornLSN (off and lsn themselves, or the first frame of the
// batch the damage leaves without its last frame).
func (it *frameIter) damaged(off int, lsn uint64, tornOff int, tornLSN uint64, reason string) {
	if !it.last {
		it.corrupt(off, lsn, reason+" (in a sealed segment)")
		return
	}
	if at, ok := validFrameAfter(it.data, off+frameAlign, lsn-1, it.mask); ok {
		it.corrupt(off, lsn, fmt.Sprintf("%s, and a valid frame follows at offset %d", reason, at))
		return
	}
	it.torn = &Problem{Segment: it.seg, Offset: int64(tornOff), LSN: tornLSN, Reason: reason}
	it.torn.Err = placeErr(ErrTornTail, it.seg, int64(tornOff), tornLSN, "%s", reason)
}

// validFrameAfter reports whether a frame with a valid checksum and an LSN
// after afterLSN starts at any 8-byte aligned offset >= from (mask: the
// length bits of the segment's frames). Such a frame proves that the
// damage before it is not a torn tail.
func validFrameAfter(data []byte, from int, afterLSN uint64, mask uint32) (int, bool) {
	from = (from + frameAlign - 1) &^ (frameAlign - 1)
	if from >= len(data) {
		return 0, false
	}
	// A frame is at least 24 bytes, so no more LSNs than this can follow.
	maxAhead := uint64(len(data)-from)/uint64(frameSize(1)) + 1
	for o := from; o+frameHeaderSize <= len(data); o += frameAlign {
		h := decodeFrameHeader(data[o:])
		n := h.length & mask
		if n == 0 || n > MaxRecordSize || o+frameHeaderSize+int(n) > len(data) {
			continue
		}
		if h.lsn <= afterLSN || h.lsn-afterLSN > maxAhead {
			continue
		}
		if crc32.Checksum(data[o+4:o+frameHeaderSize+int(n)], crcTable) == h.crc {
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
	it := newFrameIter(name, data, h, true, check)
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
