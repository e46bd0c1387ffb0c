// The canonical JSON form of a record, in both directions: the form the
// CLI's `log dump --json` prints, the C ABI's JSON replay returns, the
// cross-language test vectors (tests/vectors) expect byte for byte, and
// interstice_log_append_json reads (ParseJSON).
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
package record

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// AppendJSON appends the JSON form of one encoded fb.Transaction payload
// to dst. The payload is first checked with Verify, the record verifier
// every reader of the log uses, so a malformed record is an error
// (wrapping persistence.ErrCorrupt) and never a panic; a malformed row
// inside the record is an error naming the mutation.
func AppendJSON(dst []byte, payload []byte) (out []byte, err error) {
	if err := Verify(payload); err != nil {
		return nil, fmt.Errorf("record json: %w", err)
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
		return nil, fmt.Errorf("record json: lsn %d args: %w", t.Lsn(), err)
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
			return nil, fmt.Errorf("record json: lsn %d mutation %d row: %w", t.Lsn(), i, err)
		}
		dst = append(dst, `,"old_row":`...)
		if dst, err = appendRow(dst, m.OldRowBytes()); err != nil {
			return nil, fmt.Errorf("record json: lsn %d mutation %d old_row: %w", t.Lsn(), i, err)
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

// jsonTxn is the JSON form of a record, as ParseJSON reads it. "lsn" is
// accepted and ignored.
type jsonTxn struct {
	LSN          *json.Number `json:"lsn"`
	Timestamp    uint64       `json:"timestamp"`
	Kind         string       `json:"kind"`
	Module       string       `json:"module"`
	Reducer      string       `json:"reducer"`
	Args         []any        `json:"args"`
	Mutations    []jsonMut    `json:"mutations"`
	ModuleRecord *struct {
		Name       string `json:"name"`
		Version    string `json:"version"`
		Schema     string `json:"schema"`
		WasmSHA256 string `json:"wasm_sha256"`
	} `json:"module_record"`
}

type jsonMut struct {
	Op     string `json:"op"`
	Module string `json:"module"`
	Table  string `json:"table"`
	Row    []any  `json:"row"`
	OldRow []any  `json:"old_row"`
}

// ParseJSON parses the JSON form of one record (exactly one object, then
// the end of the input; unknown members are errors) into a Txn. Row values
// are typed by inference, as interstice_log_append_json documents: an
// integer is an i64 (a u64 above its range), any other number an f64, a
// string a string, an array a list. "lsn" is ignored (the log assigns
// it), and a record without "kind" is External.
func ParseJSON(data []byte) (*Txn, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var j jsonTxn
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if err := row.JSONEnd(dec); err != nil {
		return nil, err
	}
	tx := &Txn{Timestamp: j.Timestamp, Module: j.Module, Reducer: j.Reducer, Kind: fb.TxKindExternal}
	if j.Kind != "" {
		k, ok := enumValue(fb.EnumValuesTxKind, j.Kind)
		if !ok {
			return nil, fmt.Errorf("kind %q is not one of Reducer, ModuleLoad, Migration, External", j.Kind)
		}
		tx.Kind = k
	}
	var err error
	if tx.Args, err = encodeRow(j.Args); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	for i, m := range j.Mutations {
		op, ok := enumValue(fb.EnumValuesOp, m.Op)
		if !ok {
			return nil, fmt.Errorf("mutations[%d].op %q is not one of Insert, Update, Delete", i, m.Op)
		}
		mu := Mutation{Op: op, Module: m.Module, Table: m.Table}
		if mu.Row, err = encodeRow(m.Row); err != nil {
			return nil, fmt.Errorf("mutations[%d].row: %w", i, err)
		}
		if mu.OldRow, err = encodeRow(m.OldRow); err != nil {
			return nil, fmt.Errorf("mutations[%d].old_row: %w", i, err)
		}
		tx.Mutations = append(tx.Mutations, mu)
	}
	if mr := j.ModuleRecord; mr != nil {
		schema, err := base64.StdEncoding.DecodeString(mr.Schema)
		if err != nil {
			return nil, fmt.Errorf("module_record.schema: %v", err)
		}
		sum, err := hex.DecodeString(mr.WasmSHA256)
		if err != nil {
			return nil, fmt.Errorf("module_record.wasm_sha256: %v", err)
		}
		tx.ModuleRecord = &ModuleRecord{Name: mr.Name, Version: mr.Version, Schema: schema, WasmSHA256: sum}
	}
	return tx, nil
}

func enumValue[K any](m map[string]K, s string) (K, bool) {
	v, ok := m[s]
	return v, ok
}

// encodeRow encodes JSON values as a Row; nil stays nil (absent).
func encodeRow(vals []any) ([]byte, error) {
	if vals == nil {
		return nil, nil
	}
	typed := make([]any, len(vals))
	for i, v := range vals {
		t, err := inferValue(v, 0)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
		typed[i] = t
	}
	return row.Encode(typed)
}

func inferValue(v any, depth int) (any, error) {
	if depth > row.MaxDepth {
		return nil, fmt.Errorf("lists nested deeper than %d", row.MaxDepth)
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
			if u, err := strconv.ParseUint(s, 10, 64); err == nil {
				return u, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %v", s, err)
		}
		return f, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			t, err := inferValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported JSON value %T (objects are not values)", v)
}
