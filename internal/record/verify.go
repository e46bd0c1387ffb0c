package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/interstice/interstice/persistence"
)

// The record verifier: the one check every decoder of a record payload
// goes through. Check is the persistence.Options.Check of every log the
// runtime, the CLI and the C log API open, so the log's readers (Open,
// Replay, Reader, Validate, ValidateEach, Repair, the parallel scan's
// workers) and its appends run it on every record; Decode, AppendJSON and
// the C log API's decoders run it through Verify. The Go FlatBuffers
// runtime has no verifier and its generated accessors index the buffer
// unchecked, so a CRC-valid payload whose offsets or lengths point outside
// it made some tools panic and others accept what replay refused.
//
// It follows the official FlatBuffers verifier (flatbuffers::Verifier,
// verifier.h) for the Transaction schema (fbs/transaction.fbs):
//
//   - the root offset, and every offset field, is nonzero, positive as a
//     signed 32-bit value, and points inside the buffer;
//   - every table's vtable lies inside the buffer, its size is even and at
//     least 4, and every field present lies inside the buffer with its
//     whole width;
//   - every string's length and bytes, and its terminating zero byte, lie
//     inside the buffer; every vector's length times its element size does;
//   - every element of the mutations vector is a verified Mutation table.
//
// Two differences, both on purpose: alignment is not checked (Go reads
// unaligned scalars safely, and refusing it would turn logs that replay
// reads today into corrupt ones), and there is no depth or table-count
// limit to configure, because the schema fixes the depth at 2 (Transaction,
// then Mutation or ModuleRecord) and nothing is visited twice except a
// mutation offset shared by several vector elements, which costs a
// constant each: the work is linear in the payload's size (at most one
// table check per 4 bytes of mutations vector).
//
// Beyond the official checks it requires what the log format requires:
// the lsn field (field 0) present.

// Field slots (vtable byte offsets) of fbs/transaction.fbs.
const (
	slotTxLSN          = 4
	slotTxTimestamp    = 6
	slotTxKind         = 8
	slotTxModule       = 10
	slotTxReducer      = 12
	slotTxArgs         = 14
	slotTxMutations    = 16
	slotTxModuleRecord = 18

	slotMutOp     = 4
	slotMutModule = 6
	slotMutTable  = 8
	slotMutRow    = 10
	slotMutOldRow = 12

	slotModName    = 4
	slotModVersion = 6
	slotModSchema  = 8
	slotModSHA     = 10
)

// A failed check is a reason code and the payload byte it concerns; the
// words are made only when a record fails (verifyPayload).
const (
	vOK = iota
	vShort
	vOffset       // an offset field out of bounds, zero, negative or pointing outside
	vVtable       // a vtable out of bounds or of a bad size
	vField        // a field's bytes out of bounds
	vVector       // a vector's length runs past the payload
	vString       // a string without its terminating zero inside the payload
	vNoLSN        // the lsn field is absent
	vMutation     // (added to the code of a failure inside a mutation)
	vModuleRecord = 2 * vMutation
)

var vReasons = [...]string{
	vShort:  "shorter than a root offset and a table",
	vOffset: "offset out of bounds, zero, negative or pointing outside the payload",
	vVtable: "vtable out of bounds or of a bad size",
	vField:  "field runs past the payload",
	vVector: "vector or string length runs past the payload",
	vString: "string has no terminating zero inside the payload",
	vNoLSN:  "no lsn field",
}

// txVerifier walks one payload. It is written so that its small steps
// inline: the verifier runs on every record every reader reads.
type txVerifier struct {
	b    []byte
	code int // first failure, vOK if none
	at   int // payload byte of the failure
	mut  int // index of the mutation that failed
}

func (v *txVerifier) fail(code, at int) bool {
	v.code, v.at = code, at
	return false
}

// offset follows the uoffset stored at at, as Verifier::VerifyOffset: it
// is nonzero, positive as an int32, and its target has at least need
// bytes inside the buffer.
func (v *txVerifier) offset(at, need int) (int, bool) {
	b := v.b
	if at < 0 || at > len(b)-4 {
		return 0, v.fail(vOffset, at)
	}
	o := binary.LittleEndian.Uint32(b[at:])
	to := at + int(o)
	if o == 0 || o > math.MaxInt32 || to > len(b)-need {
		return 0, v.fail(vOffset, at)
	}
	return to, true
}

// table checks the table at t and returns its vtable position and size,
// as Verifier::VerifyTableStart: the vtable lies inside the buffer, its
// size is even and at least 4.
func (v *txVerifier) table(t int) (vt, vsize int, ok bool) {
	b := v.b
	if t < 0 || t > len(b)-4 {
		return 0, 0, v.fail(vVtable, t)
	}
	vt = t - int(int32(binary.LittleEndian.Uint32(b[t:])))
	if vt < 0 || vt > len(b)-4 {
		return 0, 0, v.fail(vVtable, t)
	}
	vsize = int(binary.LittleEndian.Uint16(b[vt:]))
	if vsize < 4 || vsize&1 != 0 || vsize > len(b)-vt {
		return 0, 0, v.fail(vVtable, vt)
	}
	return vt, vsize, true
}

// Field kinds of a table layout: what checkTable verifies in each slot.
const (
	fScalar1  = iota // a 1-byte scalar (an enum)
	fScalar8         // an 8-byte scalar
	fString          // an offset to a string
	fBytes           // an offset to a [ubyte]
	fTableVec        // an offset to a vector of tables (at most one per layout)
	fTable           // an offset to a table (at most one per layout)
)

// The layouts of fbs/transaction.fbs, one kind per field in slot order.
var (
	txLayout     = [...]uint8{fScalar8, fScalar8, fScalar1, fString, fString, fBytes, fTableVec, fTable}
	mutLayout    = [...]uint8{fScalar1, fString, fString, fBytes, fBytes}
	modRecLayout = [...]uint8{fString, fString, fBytes, fBytes}
)

// tableRefs is what checkTable found behind the table's offset fields.
type tableRefs struct {
	vec, n int // the vector of tables: its first element and its length
	table  int // the table field's target (0: absent)
	lsnAt  int // field 0's position if it is an 8-byte scalar (0: absent)
}

// checkTable verifies the table at t with the given layout, as the
// official verifier's generated Verify methods do, in one loop over the
// vtable so that the work per field is a few compares.
func (v *txVerifier) checkTable(t int, layout []uint8) (refs tableRefs, ok bool) {
	b := v.b
	vt, vsize, ok := v.table(t)
	if !ok {
		return refs, false
	}
	n := min((vsize-4)/2, len(layout))
	for i := 0; i < n; i++ {
		fo := int(binary.LittleEndian.Uint16(b[vt+4+2*i:]))
		if fo == 0 {
			continue
		}
		at := t + fo
		switch k := layout[i]; k {
		case fScalar1:
			if at >= len(b) {
				return refs, v.fail(vField, at)
			}
		case fScalar8:
			if at > len(b)-8 {
				return refs, v.fail(vField, at)
			}
			if i == 0 {
				refs.lsnAt = at
			}
		default:
			if at > len(b)-4 {
				return refs, v.fail(vField, at)
			}
			o := binary.LittleEndian.Uint32(b[at:])
			to := at + int(o)
			if o == 0 || o > math.MaxInt32 || to > len(b)-4 {
				return refs, v.fail(vOffset, at)
			}
			if k == fTable {
				refs.table = to
				continue
			}
			cnt := int(binary.LittleEndian.Uint32(b[to:]))
			rest := len(b) - to - 4
			switch k {
			case fString:
				if cnt >= rest || b[to+4+cnt] != 0 {
					if cnt > rest {
						return refs, v.fail(vVector, to)
					}
					return refs, v.fail(vString, to)
				}
			case fBytes:
				if cnt > rest {
					return refs, v.fail(vVector, to)
				}
			case fTableVec:
				if uint64(cnt)*4 > uint64(rest) {
					return refs, v.fail(vVector, to)
				}
				refs.vec, refs.n = to+4, cnt
			}
		}
	}
	return refs, true
}

// transaction verifies the whole payload and returns its lsn field.
func (v *txVerifier) transaction() (uint64, bool) {
	if len(v.b) < 8 {
		return 0, v.fail(vShort, 0)
	}
	root, ok := v.offset(0, 4)
	if !ok {
		return 0, false
	}
	refs, ok := v.checkTable(root, txLayout[:])
	if !ok {
		return 0, false
	}
	if refs.lsnAt == 0 {
		return 0, v.fail(vNoLSN, root)
	}
	for i := 0; i < refs.n; i++ {
		t, ok := v.offset(refs.vec+4*i, 4)
		if ok {
			_, ok = v.checkTable(t, mutLayout[:])
		}
		if !ok {
			v.code += vMutation
			v.mut = i
			return 0, false
		}
	}
	if refs.table != 0 {
		if _, ok := v.checkTable(refs.table, modRecLayout[:]); !ok {
			v.code += vModuleRecord
			return 0, false
		}
	}
	return binary.LittleEndian.Uint64(v.b[refs.lsnAt:]), true
}

// verifyPayload verifies p as a Transaction flatbuffer and returns its
// lsn field; on failure, reason says what is wrong and where. The fast
// path (fastTxn) decides almost every record; whatever it does not accept
// goes through the general verifier (txVerifier), which alone gives the
// verdict and the reason for it.
func verifyPayload(p []byte) (lsn uint64, reason string, ok bool) {
	if lsn, ok = fastTxn(p); ok {
		return lsn, "", true
	}
	return verifySlow(p)
}

// verifySlow is the general verifier: the reference every fast path must
// agree with (FuzzVerifyFastMatchesGeneral).
func verifySlow(p []byte) (lsn uint64, reason string, ok bool) {
	v := txVerifier{b: p}
	if lsn, ok = v.transaction(); ok {
		return lsn, "", true
	}
	return 0, v.reason(), false
}

// The fast path makes the same checks as txVerifier, in straight-line code
// for the two tables of every reducer record, with four shortcuts that
// change the work but not the verdict:
//
//   - a vtable's first 8 field offsets are read as two 64-bit words, the
//     offsets past its size masked off, rather than one at a time;
//   - a Mutation's vtable is checked and decoded once per distinct vtable
//     position (the builder shares one vtable among all the mutations of
//     a record), and the widths of its fields are folded into one extent,
//     so that one compare checks every field of a table that uses it;
//   - an offset is not compared with MaxInt32: the payload is no larger
//     than that (checked first), and an offset that passes "target inside
//     the payload" is smaller than the payload;
//   - it only accepts. On any failed check, and for the rare module_record,
//     it returns false and the general verifier runs from the start, so
//     reasons and verdicts are the general verifier's.

func le16(b []byte, i int) int    { return int(binary.LittleEndian.Uint16(b[i : i+2])) }
func le32(b []byte, i int) int    { return int(binary.LittleEndian.Uint32(b[i : i+4])) }
func le64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+8]) }

// fastVtable checks the vtable of the table at t (t+4 <= len(b) checked by
// the caller) as txVerifier.table does, and returns its position and the
// offsets of the first 8 fields, 16 bits each, 0 for a field absent or
// past the vtable's end: fields 0-3 in lo, 4-7 in hi.
func fastVtable(b []byte, t int) (vt int, lo, hi uint64, ok bool) {
	vt = t - int(int32(binary.LittleEndian.Uint32(b[t:t+4])))
	if vt < 0 || vt > len(b)-20 {
		return fastVtableNearEnd(b, vt)
	}
	vsize, lo, hi := vtableWords(b[vt : vt+20])
	return vt, lo, hi, vsize >= 4 && vsize&1 == 0 && vsize <= len(b)-vt
}

// vtableWords reads a vtable's size and its first 8 field offsets from
// w, the vtable's first 20 bytes, masking the offsets past its size.
func vtableWords(w []byte) (vsize int, lo, hi uint64) {
	w = w[:20]
	vsize = int(binary.LittleEndian.Uint16(w[0:2]))
	k := uint(vsize-4) * 8 // bits of field offsets in the vtable
	lo = binary.LittleEndian.Uint64(w[4:12]) &^ (^uint64(0) << k)
	hi = binary.LittleEndian.Uint64(w[12:20]) &^ (^uint64(0) << (max(k, 64) - 64))
	return vsize, lo, hi
}

// fastVtableNearEnd is fastVtable for a vtable position less than 20
// bytes before the payload's end (or outside it), which the builder never
// writes: a vtable precedes its table.
//
//go:noinline
func fastVtableNearEnd(b []byte, vt int) (int, uint64, uint64, bool) {
	if vt < 0 || vt > len(b)-4 {
		return 0, 0, 0, false
	}
	var w [20]byte
	copy(w[:], b[vt:])
	vsize, lo, hi := vtableWords(w[:])
	return vt, lo, hi, vsize >= 4 && vsize&1 == 0 && vsize <= len(b)-vt
}

// fastString checks the string whose offset field is at at (at+4 <=
// len(b) checked by the caller): the offset is nonzero, the length word,
// the bytes and the terminating zero lie inside b.
func fastString(b []byte, at int) bool {
	o := le32(b, at)
	to := at + o
	if o == 0 || to > len(b)-4 {
		return false
	}
	end := to + 4 + le32(b, to)
	return end < len(b) && b[end] == 0
}

// fastBytes checks the [ubyte] whose offset field is at at, likewise.
func fastBytes(b []byte, at int) bool {
	o := le32(b, at)
	to := at + o
	return o != 0 && to <= len(b)-4 && to+4+le32(b, to) <= len(b)
}

// fastTxn is the fast path of verifyPayload: it returns the lsn field and
// true only for a payload the general verifier accepts.
func fastTxn(b []byte) (uint64, bool) {
	n := len(b)
	if n < 8 || n > math.MaxInt32 {
		return 0, false
	}
	t := le32(b, 0)
	if t == 0 || t > n-4 {
		return 0, false
	}
	_, lo, hi, ok := fastVtable(b, t)
	lsn, ts, kind, module := int(lo&0xffff), int(lo>>16&0xffff), int(lo>>32&0xffff), int(lo>>48)
	reducer, args, muts := int(hi&0xffff), int(hi>>16&0xffff), int(hi>>32&0xffff)
	// lsn present; module_record (field 7) is left to the general verifier.
	if !ok || lsn == 0 || hi>>48 != 0 {
		return 0, false
	}
	// Every field's whole width inside b: with lsn present (offset >= 4),
	// an absent field's width alone never raises the extent.
	ext := max(lsn+8, ts+8, kind+1, module+4, reducer+4, args+4, muts+4)
	if t+ext > n {
		return 0, false
	}
	if (module != 0 && !fastString(b, t+module)) ||
		(reducer != 0 && !fastString(b, t+reducer)) ||
		(args != 0 && !fastBytes(b, t+args)) {
		return 0, false
	}
	if muts != 0 {
		at := t + muts
		o := le32(b, at)
		vec := at + o
		if o == 0 || vec > n-4 {
			return 0, false
		}
		cnt := le32(b, vec)
		if cnt > (n-vec-4)/4 || !fastMutations(b, vec+4, cnt) {
			return 0, false
		}
	}
	return le64(b, t+lsn), true
}

// fastMutations checks the cnt Mutation tables of the vector whose
// elements start at at (at+4*cnt <= len(b) checked by the caller).
func fastMutations(b []byte, at, cnt int) bool {
	n := len(b)
	lastVT := math.MinInt // no vtable lies there
	var module, table, row, oldRow, ext int
	for end := at + 4*cnt; at < end; at += 4 {
		o := le32(b, at)
		t := at + o
		if o == 0 || t > n-4 {
			return false
		}
		if vt := t - int(int32(binary.LittleEndian.Uint32(b[t:t+4]))); vt != lastVT {
			_, lo, hi, ok := fastVtable(b, t)
			if !ok {
				return false
			}
			op := int(lo & 0xffff)
			module, table, row, oldRow = int(lo>>16&0xffff), int(lo>>32&0xffff), int(lo>>48), int(hi&0xffff)
			ext = max(4, op+1, module+4, table+4, row+4, oldRow+4)
			lastVT = vt
		}
		if t+ext > n ||
			(module != 0 && !fastString(b, t+module)) ||
			(table != 0 && !fastString(b, t+table)) ||
			(row != 0 && !fastBytes(b, t+row)) ||
			(oldRow != 0 && !fastBytes(b, t+oldRow)) {
			return false
		}
	}
	return true
}

// reason describes the failure v recorded.
func (v *txVerifier) reason() string {
	code, where := v.code, ""
	switch {
	case code >= vModuleRecord:
		code, where = code-vModuleRecord, "module_record: "
	case code >= vMutation:
		code, where = code-vMutation, fmt.Sprintf("mutation %d: ", v.mut)
	}
	return fmt.Sprintf("malformed transaction flatbuffer: %s%s at payload byte %d", where, vReasons[code], v.at)
}

// Verify checks that p is a well-formed Transaction flatbuffer with an
// lsn field: the check every record of the log passes before any decoder
// reads it (see verify.go). Once it returns nil, the generated fb
// accessors (View and what they return) read p without going out of
// bounds. The error wraps persistence.ErrCorrupt. Rows and the module
// schema inside are nested buffers: checking them is their decoder's work
// (row.Decode, the runtime's schema decoder).
func Verify(p []byte) error {
	if _, reason, ok := verifyPayload(p); !ok {
		return fmt.Errorf("%w: %s", persistence.ErrCorrupt, reason)
	}
	return nil
}

// Check is the record check of every log of runtime records
// (persistence.Options.Check): p verifies (Verify) and its lsn field
// equals lsn, the frame's. The error text is the reason; the log reports
// it as corruption at the frame, or refuses the append with
// persistence.ErrBadRecord.
func Check(lsn uint64, p []byte) error {
	pl, reason, ok := verifyPayload(p)
	if !ok {
		return errors.New(reason)
	}
	if pl != lsn {
		return fmt.Errorf("payload lsn %d disagrees with frame lsn %d", pl, lsn)
	}
	return nil
}

// LogOptions returns o with Check set: the options every opener of a log
// of runtime records uses.
func LogOptions(o persistence.Options) persistence.Options {
	o.Check = Check
	return o
}
