package persistence

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Frame layout (see doc.go). All integers are little-endian.
const (
	// frameHeaderSize is crc(4) + length(4) + lsn(8).
	frameHeaderSize = 16
	// frameAlign pads every frame to a multiple of 8 bytes, so every frame
	// header and every payload starts 8-byte aligned: headers are read with
	// aligned loads, flatbuffer scalars inside payloads stay aligned, and a
	// torn write can only start or end a frame on an 8-byte boundary.
	frameAlign = 8

	// MaxRecordSize is the largest payload of one record: 64 MiB. A reader
	// trusts a frame's length field only up to this bound before the
	// checksum has been verified, so a corrupt length can never make it
	// read or hash more than 64 MiB for one frame.
	MaxRecordSize = 64 << 20
)

// frameSize returns the on-disk size of a frame with an n-byte payload.
func frameSize(n int) int {
	return (frameHeaderSize + n + frameAlign - 1) &^ (frameAlign - 1)
}

// encodeFrameHeader fills frame[0:16] for the payload already stored at
// frame[16:16+n]: length (with frameContinues when cont is set: the next
// frame belongs to the same batch), lsn, then the CRC-32C of
// frame[4:16+n] (length, lsn and payload). It is the only place that
// writes a frame header.
func encodeFrameHeader(frame []byte, n int, lsn uint64, cont bool) {
	length := uint32(n)
	if cont {
		length |= frameContinues
	}
	binary.LittleEndian.PutUint32(frame[4:8], length)
	binary.LittleEndian.PutUint64(frame[8:16], lsn)
	binary.LittleEndian.PutUint32(frame[0:4], crc32.Checksum(frame[4:frameHeaderSize+n], crcTable))
}

// A Payload is the body of one record, opaque to the log. The log calls
// AppendPayload with the LSN it assigns to the record, under its lock,
// and frames whatever bytes it appended: the LSN is the log's alone, and a
// format that keeps a copy of it inside the payload (the runtime's
// Transaction records do) writes the one it is given. AppendPayload must
// append exactly one payload to dst and return the extended slice; it must
// not retain dst, and it must not call back into the log.
type Payload interface {
	AppendPayload(dst []byte, lsn uint64) []byte
}

// Bytes is a Payload of fixed bytes that does not depend on the LSN.
type Bytes []byte

// AppendPayload appends b.
func (b Bytes) AppendPayload(dst []byte, _ uint64) []byte { return append(dst, b...) }

// A Check verifies the payload of record lsn: the one content check of a
// log, which the format above the log supplies (Options.Check). Readers
// call it on every frame whose checksum and LSN are valid, and a failure
// is corruption at that frame (the error's text is the reason); Append,
// Enqueue and AppendBatch call it on every payload they frame, and refuse
// one that fails with ErrBadRecord, so the log never writes a record that
// its readers would then call corrupt. It must not retain payload, and it
// runs on several goroutines at once (Validate, ValidateEach and Repair verify
// in parallel).
type Check func(lsn uint64, payload []byte) error

// appendFrame appends one padded frame carrying p as record lsn to dst,
// marked as continued by the next frame when cont is set (a batch's
// frames but its last). The payload is written in place, after the frame
// header's 16 bytes. A
// payload larger than MaxRecordSize, an empty one, or one that check
// refuses leaves dst as it was and returns ErrRecordTooLarge or
// ErrBadRecord.
func appendFrame(dst []byte, lsn uint64, p Payload, check Check, cont bool) ([]byte, error) {
	start := len(dst)
	if cap(dst)-start < frameHeaderSize {
		grown := make([]byte, start, 2*cap(dst)+frameHeaderSize+256)
		copy(grown, dst)
		dst = grown
	}
	dst = p.AppendPayload(dst[:start+frameHeaderSize], lsn)
	n := len(dst) - start - frameHeaderSize
	if n == 0 {
		// A zero length field is how readers find the end of a segment's
		// frames (the zeros of its preallocated tail), so an empty record
		// would read back as the end of the log.
		return dst[:start], fmt.Errorf("%w: the payload is empty", ErrBadRecord)
	}
	if n > MaxRecordSize {
		return dst[:start], fmt.Errorf("%w: %d bytes, the maximum is %d", ErrRecordTooLarge, n, MaxRecordSize)
	}
	if check != nil {
		if err := check(lsn, dst[start+frameHeaderSize:]); err != nil {
			return dst[:start], fmt.Errorf("%w: %w", ErrBadRecord, err)
		}
	}
	size := frameSize(n)
	if cap(dst)-start < size {
		grown := make([]byte, len(dst), start+size)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+size]
	frame := dst[start:]
	clear(frame[frameHeaderSize+n:])
	encodeFrameHeader(frame, n, lsn, cont)
	return dst, nil
}
