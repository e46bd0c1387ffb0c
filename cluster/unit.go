package cluster

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/interstice/interstice/core"
	"github.com/interstice/interstice/fbs/fb"
)

// encodeUnit encodes u as a ClusterUnit flatbuffer (fbs/cluster.fbs): the
// data of one raft log entry.
func encodeUnit(u core.Unit) []byte {
	n := 64 + len(u.Wasm)
	for _, r := range u.Records {
		n += len(r) + 16
	}
	b := flatbuffers.NewBuilder(n)
	recs := make([]flatbuffers.UOffsetT, len(u.Records))
	for i, r := range u.Records {
		data := b.CreateByteVector(r)
		fb.UnitRecordStart(b)
		fb.UnitRecordAddData(b, data)
		recs[i] = fb.UnitRecordEnd(b)
	}
	fb.ClusterUnitStartRecordsVector(b, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(recs[i])
	}
	vec := b.EndVector(len(recs))
	var wasm flatbuffers.UOffsetT
	if u.Wasm != nil {
		wasm = b.CreateByteVector(u.Wasm)
	}
	fb.ClusterUnitStart(b)
	fb.ClusterUnitAddFirstLsn(b, u.FirstLSN)
	fb.ClusterUnitAddPrev(b, u.Prev)
	fb.ClusterUnitAddRecords(b, vec)
	if u.Wasm != nil {
		fb.ClusterUnitAddWasm(b, wasm)
	}
	b.Finish(fb.ClusterUnitEnd(b))
	return b.FinishedBytes()
}

// member is a node's HTTP address, as a member entry carries it.
type member struct{ id, http string }

// encodeMember encodes a member entry: a ClusterUnit with a member and no
// records.
func encodeMember(m member) []byte {
	b := flatbuffers.NewBuilder(64)
	id, h := b.CreateString(m.id), b.CreateString(m.http)
	fb.MemberStart(b)
	fb.MemberAddId(b, id)
	fb.MemberAddHttp(b, h)
	mo := fb.MemberEnd(b)
	fb.ClusterUnitStart(b)
	fb.ClusterUnitAddMember(b, mo)
	b.Finish(fb.ClusterUnitEnd(b))
	return b.FinishedBytes()
}

// decodeMember returns the member of an entry, if it is a member entry.
func decodeMember(data []byte) (m member, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if len(data) < 8 {
		return m, false
	}
	mb := fb.GetRootAsClusterUnit(data, 0).Member(nil)
	if mb == nil {
		return m, false
	}
	return member{id: string(mb.Id()), http: string(mb.Http())}, true
}

// decodeUnit decodes a raft entry's data: a unit with records. The
// records are checked by core.Runtime.ApplyCommitted (the log's record
// check); a malformed flatbuffer is an error here, never a panic.
func decodeUnit(data []byte, index uint64) (core.Unit, error) {
	u, err := parseUnit(data, index)
	if err == nil && (u.FirstLSN == 0 || len(u.Records) == 0) {
		err = fmt.Errorf("cluster: raft entry %d: a unit at lsn %d with %d records", index, u.FirstLSN, len(u.Records))
	}
	return u, err
}

// parseUnit decodes a ClusterUnit flatbuffer (index names it in errors).
func parseUnit(data []byte, index uint64) (u core.Unit, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("cluster: raft entry %d: malformed unit: %v", index, x)
		}
	}()
	if len(data) < 8 {
		return u, fmt.Errorf("cluster: raft entry %d: %d bytes, not a unit", index, len(data))
	}
	cu := fb.GetRootAsClusterUnit(data, 0)
	u.FirstLSN, u.Prev = cu.FirstLsn(), cu.Prev()
	var rec fb.UnitRecord
	for i := 0; i < cu.RecordsLength(); i++ {
		if !cu.Records(&rec, i) {
			return u, fmt.Errorf("cluster: raft entry %d: record %d unreadable", index, i)
		}
		u.Records = append(u.Records, rec.DataBytes())
	}
	if cu.WasmLength() > 0 {
		u.Wasm = cu.WasmBytes()
	}
	return u, nil
}
