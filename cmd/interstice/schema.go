package main

import (
	"fmt"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/row"
)

// The JSON form of a module schema, shared by describe --json and the
// module records of log dump --json.
type (
	columnOut struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Default any    `json:"default,omitempty"`
	}
	tableOut struct {
		Name       string      `json:"name"`
		Public     bool        `json:"public"`
		PrimaryKey string      `json:"primary_key"`
		Columns    []columnOut `json:"columns"`
	}
	reducerOut struct {
		Name   string      `json:"name"`
		Params []columnOut `json:"params"`
	}
	subscriptionOut struct {
		Module  string `json:"module"`
		Table   string `json:"table"`
		Event   string `json:"event"`
		Reducer string `json:"reducer"`
	}
	schemaOut struct {
		Name          string            `json:"name"`
		Version       string            `json:"version"`
		Migration     string            `json:"migration,omitempty"`
		Tables        []tableOut        `json:"tables"`
		Reducers      []reducerOut      `json:"reducers"`
		Subscriptions []subscriptionOut `json:"subscriptions"`
	}
)

func columnsOut(cs []core.ColumnInfo) []columnOut {
	out := make([]columnOut, 0, len(cs))
	for _, c := range cs {
		co := columnOut{Name: c.Name, Type: c.Type.String()}
		if c.HasDefault {
			co.Default = jsonValue(c.Default)
		}
		out = append(out, co)
	}
	return out
}

// jsonValue is v in the form row.AppendJSON gives it (bytes as base64,
// big integers exact), for encoding/json.
func jsonValue(v any) any { return rawJSON(row.AppendJSON(nil, v)) }

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func schemaOf(m *core.ModuleInfo) schemaOut {
	out := schemaOut{Name: m.Name, Version: m.Version, Migration: m.Migration,
		Tables: []tableOut{}, Reducers: []reducerOut{}, Subscriptions: []subscriptionOut{}}
	for _, t := range m.Tables {
		pk := ""
		if t.PrimaryKey >= 0 && t.PrimaryKey < len(t.Columns) {
			pk = t.Columns[t.PrimaryKey].Name
		}
		out.Tables = append(out.Tables, tableOut{t.Name, t.Public, pk, columnsOut(t.Columns)})
	}
	for _, r := range m.Reducers {
		out.Reducers = append(out.Reducers, reducerOut{r.Name, columnsOut(r.Params)})
	}
	for _, s := range m.Subscriptions {
		out.Subscriptions = append(out.Subscriptions, subscriptionOut{s.Module, s.Table, s.Event.String(), s.Reducer})
	}
	return out
}

// moduleInfoFromFB decodes the ModuleSchema bytes of a module record (as
// far as describe shows them: names, types, keys, subscriptions). The
// record passed the log's verifier, but the nested schema is not verified
// by it, so a bad offset is an error, not a panic.
func moduleInfoFromFB(buf []byte) (info *core.ModuleInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("malformed module schema: %v", r)
		}
	}()
	if len(buf) < 8 {
		return nil, fmt.Errorf("malformed module schema: %d bytes", len(buf))
	}
	s := fb.GetRootAsModuleSchema(buf, 0)
	info = &core.ModuleInfo{Name: string(s.Name()), Version: string(s.Version()), Migration: string(s.Migration())}
	var td fb.TableDef
	var c fb.Column
	var rd fb.ReducerDef
	var p fb.Param
	var sd fb.SubscriptionDef
	for i := 0; i < s.TablesLength(); i++ {
		if !s.Tables(&td, i) {
			continue
		}
		t := core.TableInfo{Name: string(td.Name()), PrimaryKey: int(td.PrimaryKey()), Public: td.Public()}
		for j := 0; j < td.ColumnsLength(); j++ {
			if td.Columns(&c, j) {
				t.Columns = append(t.Columns, core.ColumnInfo{Name: string(c.Name()), Type: row.TypeFromFB(c.Type(nil))})
			}
		}
		info.Tables = append(info.Tables, t)
	}
	for i := 0; i < s.ReducersLength(); i++ {
		if !s.Reducers(&rd, i) {
			continue
		}
		r := core.ReducerInfo{Name: string(rd.Name())}
		for j := 0; j < rd.ParamsLength(); j++ {
			if rd.Params(&p, j) {
				r.Params = append(r.Params, core.ColumnInfo{Name: string(p.Name()), Type: row.TypeFromFB(p.Type(nil))})
			}
		}
		info.Reducers = append(info.Reducers, r)
	}
	for i := 0; i < s.SubscriptionsLength(); i++ {
		if s.Subscriptions(&sd, i) {
			info.Subscriptions = append(info.Subscriptions, core.SubscriptionInfo{Module: string(sd.Module()),
				Table: string(sd.TableName()), Event: core.Op(sd.Event()), Reducer: string(sd.Reducer())})
		}
	}
	return info, nil
}
