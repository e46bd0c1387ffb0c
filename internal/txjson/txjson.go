// Package txjson renders transaction records as canonical JSON: the form the
// CLI's `log dump --json` prints, the C ABI's JSON replay returns and the
// cross-language test vectors (tests/vectors) expect, byte for byte.
//
// One record is one JSON object with members in this order:
//
//	{"lsn":N,"timestamp":N,"kind":"Reducer","module":"m","reducer":"r",
//	 "args":[...],"mutations":[{"op":"Insert","module":"m","table":"t",
//	 "row":[...],"old_row":[...]}],"module_record":{...}}
//
// Rows and arguments are arrays of values (row.AppendJSON). "args",
// "row" and "old_row" are null when absent; "module_record" is present only
// on ModuleLoad records, with the schema as base64 and the hash as hex.
package txjson

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// Append appends the JSON form of one encoded fb.Transaction payload to dst.
// The payload is first checked with persistence.VerifyTxn, the record
// verifier every reader of the log uses, so a malformed record is an error
// (wrapping persistence.ErrCorrupt) and never a panic; a malformed row
// inside the record is an error naming the mutation.
func Append(dst []byte, payload []byte) (out []byte, err error) {
	if err := persistence.VerifyTxn(payload); err != nil {
		return nil, fmt.Errorf("txjson: %w", err)
	}
	t := fb.GetRootAsTransaction(payload, 0)
	dst = append(dst, `{"lsn":`...)
	dst = strconv.AppendUint(dst, t.Lsn(), 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendUint(dst, t.Timestamp(), 10)
	dst = append(dst, `,"kind":`...)
	dst = row.AppendJSON(dst, enumName(fb.EnumNamesTxKind, t.Kind()))
	dst = append(dst, `,"module":`...)
	dst = row.AppendJSON(dst, string(t.Module()))
	dst = append(dst, `,"reducer":`...)
	dst = row.AppendJSON(dst, string(t.Reducer()))
	dst = append(dst, `,"args":`...)
	if dst, err = appendRow(dst, t.ArgsBytes()); err != nil {
		return nil, fmt.Errorf("txjson: lsn %d args: %w", t.Lsn(), err)
	}
	dst = append(dst, `,"mutations":[`...)
	var m fb.Mutation
	for i := 0; i < t.MutationsLength(); i++ {
		if !t.Mutations(&m, i) {
			continue
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"op":`...)
		dst = row.AppendJSON(dst, enumName(fb.EnumNamesOp, m.Op()))
		dst = append(dst, `,"module":`...)
		dst = row.AppendJSON(dst, string(m.Module()))
		dst = append(dst, `,"table":`...)
		dst = row.AppendJSON(dst, string(m.TableName()))
		dst = append(dst, `,"row":`...)
		if dst, err = appendRow(dst, m.RowBytes()); err != nil {
			return nil, fmt.Errorf("txjson: lsn %d mutation %d row: %w", t.Lsn(), i, err)
		}
		dst = append(dst, `,"old_row":`...)
		if dst, err = appendRow(dst, m.OldRowBytes()); err != nil {
			return nil, fmt.Errorf("txjson: lsn %d mutation %d old_row: %w", t.Lsn(), i, err)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if mr := t.ModuleRecord(nil); mr != nil {
		dst = append(dst, `,"module_record":{"name":`...)
		dst = row.AppendJSON(dst, string(mr.Name()))
		dst = append(dst, `,"version":`...)
		dst = row.AppendJSON(dst, string(mr.Version()))
		dst = append(dst, `,"schema":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, mr.SchemaBytes())
		dst = append(dst, `","wasm_sha256":"`...)
		dst = hex.AppendEncode(dst, mr.WasmSha256Bytes())
		dst = append(dst, `"}`...)
	}
	return append(dst, '}'), nil
}

func appendRow(dst, buf []byte) ([]byte, error) {
	if buf == nil {
		return append(dst, "null"...), nil
	}
	vals, err := row.Decode(buf)
	if err != nil {
		return nil, err
	}
	return row.AppendJSON(dst, any(toList(vals))), nil
}

func toList(vals []any) []any {
	if vals == nil {
		return []any{}
	}
	return vals
}

func enumName[K comparable](names map[K]string, k K) string {
	if s, ok := names[k]; ok {
		return s
	}
	return fmt.Sprint(k)
}
