package core

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// randValue returns a value of kind k (some out of range for u32, i32,
// f32 when wild).
func randValue(rng *rand.Rand, t row.Type, wild bool) any {
	if t.Optional && rng.IntN(4) == 0 {
		return nil
	}
	switch t.Kind {
	case fb.ValueTypeBool:
		return rng.IntN(2) == 0
	case fb.ValueTypeU32:
		return uint32(rng.Uint64())
	case fb.ValueTypeU64:
		return rng.Uint64() >> rng.IntN(64)
	case fb.ValueTypeI32:
		return int32(rng.Uint64())
	case fb.ValueTypeI64:
		return int64(rng.Uint64()) >> rng.IntN(64)
	case fb.ValueTypeF32:
		return float32(rng.NormFloat64())
	case fb.ValueTypeF64:
		return []float64{0, math.NaN(), math.Inf(1), rng.NormFloat64()}[rng.IntN(4)]
	case fb.ValueTypeString:
		s := []string{"", "player", "é\u00e9x", "\xff\xfe", "a longer string of some bytes"}[rng.IntN(5)]
		if !wild && s == "\xff\xfe" {
			s = "ok"
		}
		return s
	case fb.ValueTypeBytes:
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	default: // list
		l := make([]any, rng.IntN(4))
		for i := range l {
			l[i] = randValue(rng, *t.Elem, wild)
		}
		return l
	}
}

func randType(rng *rand.Rand) row.Type {
	t := row.Type{Kind: fb.ValueType(1 + rng.IntN(10)), Optional: rng.IntN(3) == 0}
	if t.Kind == fb.ValueTypeList {
		e := row.Type{Kind: fb.ValueType(1 + rng.IntN(9))}
		t.Elem = &e
	}
	return t
}

// TestCheckRowMatchesRowCheck: row.CheckKey (the check and key of every
// written and replayed row) accepts exactly the rows row.Check accepts,
// with the key row.Key gives, and accepts the valid rows of scalar, string
// and bytes columns; rows are encoded, then damaged (byte changes,
// truncation), and checked against shuffled schemas.
func TestCheckRowMatchesRowCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	accepted, rejected := 0, 0
	for iter := 0; iter < 20000; iter++ {
		types := make([]row.Type, 1+rng.IntN(5))
		for i := range types {
			types[i] = randType(rng)
		}
		pk := rng.IntN(len(types))
		vals := make([]any, len(types))
		for i := range vals {
			vals[i] = randValue(rng, types[i], true)
		}
		buf, err := row.Encode(vals)
		if err != nil {
			t.Fatal(err)
		}
		check := func(buf []byte, types []row.Type, pk int, what string) {
			dst := []byte("prefix")
			key, ok := checkKey(dst, buf, types, pk)
			err := row.Check(buf, types)
			if !ok {
				rejected++
				if !bytes.Equal(key, dst) {
					t.Fatalf("%s: checkRow rejected but changed dst", what)
				}
				return
			}
			accepted++
			if err != nil {
				t.Fatalf("%s: checkRow accepts a row row.Check rejects (%v): %x types %v", what, err, buf, types)
			}
			if want := keyOf(buf, pk); !bytes.Equal(key, want) {
				t.Fatalf("%s: key %x, want %x", what, key, want)
			}
		}
		check(buf, types, pk, "encoded")
		hasList := false
		for _, ty := range types {
			hasList = hasList || ty.Kind == fb.ValueTypeList
		}
		if err := row.Check(buf, types); err == nil && !hasList {
			if _, ok := checkKey(nil, buf, types, pk); !ok {
				t.Fatalf("checkRow rejects a valid row %x of types %v", buf, types)
			}
		}
		// Another schema.
		other := append([]row.Type(nil), types...)
		other[rng.IntN(len(other))] = randType(rng)
		check(buf, other, pk, "other schema")
		check(buf, types[:len(types)-1], 0, "fewer columns")
		// Damage.
		for d := 0; d < 8; d++ {
			b := bytes.Clone(buf)
			switch rng.IntN(4) {
			case 0:
				b = b[:rng.IntN(len(b)+1)]
			case 1:
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			case 2:
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			default:
				for k := 0; k < 3; k++ {
					b[rng.IntN(len(b))] = byte([]int{0, 1, 0xff, 0x80, 4, 8}[rng.IntN(6)])
				}
			}
			func() {
				defer func() {
					if x := recover(); x != nil {
						t.Fatalf("checkRow panics on %x: %v", b, x)
					}
				}()
				check(b, types, pk, "damaged")
			}()
		}
	}
	t.Logf("accepted %d, rejected %d", accepted, rejected)
}

// checkKey adapts row.CheckKey to the (key, ok) form this test was written for.
func checkKey(dst, buf []byte, types []row.Type, pk int) ([]byte, bool) {
	k, err := row.CheckKey(dst, buf, types, pk)
	return k, err == nil
}

// keyOf is the reference key: "prefix" + row.Key of value pk, with nothing
// appended for a value that is no key type (null, float, list).
func keyOf(buf []byte, pk int) []byte {
	out := []byte("prefix")
	v, err := row.Field(buf, pk)
	if err != nil {
		return out
	}
	k, err := row.Key(v)
	if err != nil {
		return out
	}
	return append(out, k...)
}
