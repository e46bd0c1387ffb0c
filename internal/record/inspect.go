package record

import (
	"fmt"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
)

// Info is the result of Inspect: the log's Validate report plus counts
// taken from the decoded records.
type Info struct {
	persistence.Report
	Mutations int64
	ByKind    map[string]int64 // TxKind name -> records
	ByModule  map[string]int64 // module -> mutations
	ByTable   map[string]int64 // "module.table" -> mutations
	ByOp      map[string]int64 // Op name -> mutations
}

// Inspect validates the log in dir like persistence.Validate, with the
// record check (Check) set in opts, and counts records per kind and
// mutations per module, table and op. It never writes.
func Inspect(dir string, opts persistence.Options) (*Info, error) {
	info := &Info{ByKind: map[string]int64{}, ByModule: map[string]int64{}, ByTable: map[string]int64{}, ByOp: map[string]int64{}}
	var t fb.Transaction
	var m fb.Mutation
	rep, err := persistence.ValidateEach(dir, func(rec persistence.Record) error {
		Init(&t, rec.Payload) // verified by Check
		info.ByKind[KindName(t.Kind())]++
		n := t.MutationsLength()
		info.Mutations += int64(n)
		for i := 0; i < n; i++ {
			if !t.Mutations(&m, i) {
				continue
			}
			mod := string(m.Module())
			info.ByModule[mod]++
			info.ByTable[mod+"."+string(m.TableName())]++
			info.ByOp[OpName(m.Op())]++
		}
		return nil
	}, LogOptions(opts))
	if rep != nil {
		info.Report = *rep
	}
	return info, err
}

// KindName is the schema's name of a transaction kind ("Reducer"), or
// "TxKind(n)" for a value the schema does not define.
func KindName(k fb.TxKind) string {
	if s, ok := fb.EnumNamesTxKind[k]; ok {
		return s
	}
	return fmt.Sprintf("TxKind(%d)", k)
}

// OpName is the schema's name of a mutation op ("Insert"), or "Op(n)".
func OpName(o fb.Op) string {
	if s, ok := fb.EnumNamesOp[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", o)
}
