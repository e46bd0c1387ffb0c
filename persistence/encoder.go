package persistence

import (
	"encoding/binary"
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
// frame[16:16+n]: length, lsn, then the CRC-32C of frame[4:16+n] (length,
// lsn and payload). It is the only place that writes a frame header.
func encodeFrameHeader(frame []byte, n int, lsn uint64) {
	binary.LittleEndian.PutUint32(frame[4:8], uint32(n))
	binary.LittleEndian.PutUint64(frame[8:16], lsn)
	binary.LittleEndian.PutUint32(frame[0:4], crc32.Checksum(frame[4:frameHeaderSize+n], crcTable))
}

// appendFrame appends one padded frame carrying payload as record lsn to
// dst. If lsnPos >= 0 the payload's lsn field at that offset is overwritten
// with lsn in the copy (the caller's payload is not modified).
func appendFrame(dst []byte, lsn uint64, payload []byte, lsnPos int) []byte {
	start := len(dst)
	size := frameSize(len(payload))
	if cap(dst)-start < size {
		grown := make([]byte, start, 2*cap(dst)+size)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+size]
	frame := dst[start:]
	copy(frame[frameHeaderSize:], payload)
	if lsnPos >= 0 {
		binary.LittleEndian.PutUint64(frame[frameHeaderSize+lsnPos:], lsn)
	}
	clear(frame[frameHeaderSize+len(payload):])
	encodeFrameHeader(frame, len(payload), lsn)
	return dst
}
