package record_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/fbs/fb"
	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
	"github.com/interstice/interstice/row"
)

func payload() []byte {
	return record.Encode(flatbuffers.NewBuilder(0), &record.Txn{LSN: 3, Kind: fb.TxKindReducer, Module: "counter", Reducer: "add",
		Args:      row.MustEncode("k", int64(1)),
		Mutations: []record.Mutation{{Op: fb.OpInsert, Module: "counter", Table: "counters", Row: row.MustEncode("k", int64(1))}}})
}

// TestAppendRefusesStringOutsidePayload recreates a record whose string
// length points outside the payload (it panicked `log dump` and the C
// record_to_json): AppendJSON goes through Verify and returns
// ErrCorrupt, never a panic.
func TestAppendRefusesStringOutsidePayload(t *testing.T) {
	good := payload()
	if _, err := record.AppendJSON(nil, good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(p []byte)
	}{
		{"string length past the end", func(p []byte) {
			i := bytes.Index(p, []byte("add\x00"))
			binary.LittleEndian.PutUint32(p[i-4:], 1<<30)
		}},
		{"vector length past the end", func(p []byte) {
			i := bytes.Index(p, []byte("counters\x00"))
			binary.LittleEndian.PutUint32(p[i-4:], uint32(len(p)))
		}},
		{"root offset past the end", func(p []byte) { binary.LittleEndian.PutUint32(p, uint32(len(p)+8)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := append([]byte(nil), good...)
			tc.edit(p)
			out, err := record.AppendJSON(nil, p)
			if !errors.Is(err, persistence.ErrCorrupt) || out != nil || !strings.Contains(err.Error(), "malformed transaction") {
				t.Fatalf("Append: %q %v, want ErrCorrupt", out, err)
			}
		})
	}
}
