package persistence

import (
	"encoding/binary"
	"os"
	"testing"
)

// FuzzDecodeSegment feeds arbitrary bytes to the segment and frame decoder
// as if they were the last segment of a log of the test format: it must
// never panic, and every record it accepts must pass the payload check
// (the frame iterator runs testCheck on every CRC-valid frame) and decode,
// and the records it accepts must end at a batch boundary.
func FuzzDecodeSegment(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, Options{SegmentSize: MinSegmentSize, Sync: SyncNone, Check: testCheck})
	if err != nil {
		f.Fatal(err)
	}
	for i := uint64(1); i <= 5; i++ {
		l.Append(testTxn(i))
	}
	// And batches, so that the fuzzer starts from flagged frames too.
	l.AppendBatch([]Payload{testTxn(0), testTxn(0), testTxn(0)})
	l.AppendBatch([]Payload{testTxn(0), testTxn(0)})
	l.Close()
	segs := segFiles(f, dir)
	for _, p := range segs {
		b, _ := os.ReadFile(p)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	// Damaged images of the first segment, in the test format (the
	// committed corpus in testdata predates it): a bit flip in the first
	// frame, a huge length, a cut inside a frame, and a CRC-valid frame
	// whose payload carries the wrong lsn.
	orig, _ := os.ReadFile(segs[0])
	offs, end := frameOffsets(f, segs[0])
	damaged := func(edit func(b []byte) []byte) {
		f.Add(edit(append([]byte(nil), orig[:end]...)))
	}
	damaged(func(b []byte) []byte { b[offs[0]+frameHeaderSize+3] ^= 1; return b })
	damaged(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[offs[0]+4:], 0x00ffff0f); return b })
	damaged(func(b []byte) []byte { return b[:offs[1]+20] })
	damaged(func(b []byte) []byte {
		n := int(binary.LittleEndian.Uint32(b[offs[1]+4:]))
		frame := b[offs[1] : int(offs[1])+frameHeaderSize+n]
		binary.LittleEndian.PutUint64(frame[frameHeaderSize:], 9)
		encodeFrameHeader(frame, n, binary.LittleEndian.Uint64(frame[8:]), false)
		return b
	})
	var hdr [segHeaderSize]byte
	encodeSegHeader(hdr[:], 1, 0)
	f.Add(hdr[:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, end, torn, err := decodeSegment("fuzz.log", data, testCheck)
		if err == nil && n > 0 && end < segHeaderSize {
			t.Fatalf("%d records ending at %d", n, end)
		}
		_ = torn
		if err != nil || len(data) < segHeaderSize {
			return
		}
		h, _ := decodeSegHeader(data, "fuzz.log")
		it := newFrameIter("fuzz.log", data, h, true, testCheck)
		accepted, open := 0, false
		for {
			lsn, off, p, ok := it.next()
			if !ok {
				break
			}
			accepted++
			open = h.version >= 2 && binary.LittleEndian.Uint32(data[off+4:])&frameContinues != 0
			// Every frame the iterator accepts passed the payload check:
			// it holds its own LSN and decodes.
			if err := testCheck(lsn, p); err != nil {
				t.Fatalf("accepted frame %d fails the check: %v", lsn, err)
			}
			rec, err := decodeTestRec(p)
			if err != nil || rec.LSN != lsn || rec.LSN != binary.LittleEndian.Uint64(p) {
				t.Fatalf("accepted frame %d decodes to lsn %d, %v", lsn, rec.LSN, err)
			}
		}
		if accepted != n {
			t.Fatalf("decodeSegment counted %d records, the iterator accepted %d", n, accepted)
		}
		if open {
			t.Fatalf("the accepted records end inside a batch (lsn %d continues)", it.want-1)
		}
	})
}
