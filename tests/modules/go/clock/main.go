// Command clock records everything nondeterministic a Go guest can reach,
// for determinism tests: two runs of the same calls must store the same
// rows.
//
// Module "clock" 1.0.0
//
//	table samples (public): id u64 (pk), unix_nanos i64, mono_nanos i64,
//	    crypto bytes, math_rand u64, ctx_rand u64, map_order string
//	sample(id u64)   stores time.Now() (wall and monotonic since the first
//	                 call), 16 bytes of crypto/rand, math/rand/v2.Uint64(),
//	                 ctx.Rand().Uint64(), and the iteration order of a map
package main

import (
	crand "crypto/rand"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	sdk "github.com/interstice/interstice/sdk/go"
)

// Sample is one row of the samples table.
type Sample struct {
	ID        uint64 `ist:"id,pk"`
	UnixNanos int64  `ist:"unix_nanos"`
	MonoNanos int64  `ist:"mono_nanos"`
	Crypto    []byte `ist:"crypto"`
	MathRand  uint64 `ist:"math_rand"`
	CtxRand   uint64 `ist:"ctx_rand"`
	MapOrder  string `ist:"map_order"`
}

var samples = sdk.Table[Sample]("samples", sdk.Public)

var start time.Time

func init() {
	sdk.Module("clock", "1.0.0")
	sdk.Reducer("sample", func(ctx *sdk.Ctx, id uint64) error {
		now := time.Now()
		if start.IsZero() {
			start = now
		}
		b := make([]byte, 16)
		_, _ = crand.Read(b)
		m := map[int]bool{}
		for i := 0; i < 16; i++ {
			m[i] = true
		}
		var order []string
		for k := range m {
			order = append(order, strconv.Itoa(k))
		}
		return samples.Insert(Sample{
			ID:        id,
			UnixNanos: now.UnixNano(),
			MonoNanos: int64(now.Sub(start)),
			Crypto:    b,
			MathRand:  rand.Uint64(),
			CtxRand:   ctx.Rand().Uint64(),
			MapOrder:  strings.Join(order, ","),
		})
	}, "id")
}

func main() {}
