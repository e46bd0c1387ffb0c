package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

// jsonTxn is the JSON form of a record (internal/txjson), as read by
// interstice_log_append_json. "lsn" is accepted and ignored.
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

// txnFromJSON parses the txjson form into a Txn, typing row values by
// inference (see interstice_log_append_json).
func txnFromJSON(data []byte) (*persistence.Txn, error) {
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
	tx := &persistence.Txn{Timestamp: j.Timestamp, Module: j.Module, Reducer: j.Reducer, Kind: fb.TxKindExternal}
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
		mu := persistence.Mutation{Op: op, Module: m.Module, Table: m.Table}
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
		tx.ModuleRecord = &persistence.ModuleRecord{Name: mr.Name, Version: mr.Version, Schema: schema, WasmSHA256: sum}
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
