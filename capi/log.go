package main

// #include "capi_internal.h"
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/interstice/interstice/internal/record"
	"github.com/interstice/interstice/persistence"
)

// logObj is the object behind an interstice_log handle.
type logObj struct {
	l      *persistence.Log
	closed atomic.Bool
}

func (*logObj) kind() string { return "log" }

// errStop is returned by the replay callback wrapper when C asked to stop.
var errStop = errors.New("stop")

//export interstice_log_options_init
func interstice_log_options_init(o *C.interstice_log_options) {
	if o == nil {
		return
	}
	*o = C.interstice_log_options{}
	o.version = C.INTERSTICE_LOG_OPTIONS_VERSION
}

// logOptions converts C log options (NULL: defaults) and validates them.
func logOptions(o *C.ist_clogopts) (persistence.Options, error) {
	var p persistence.Options
	if o == nil {
		return record.LogOptions(p), nil
	}
	if o.version != C.INTERSTICE_LOG_OPTIONS_VERSION {
		return p, fmt.Errorf("interstice: log options version %d, want %d (call interstice_log_options_init)", o.version, C.INTERSTICE_LOG_OPTIONS_VERSION)
	}
	switch o.sync {
	case C.INTERSTICE_SYNC_ALWAYS:
		p.Sync = persistence.SyncAlways
	case C.INTERSTICE_SYNC_INTERVAL:
		p.Sync = persistence.SyncInterval
	case C.INTERSTICE_SYNC_NONE:
		p.Sync = persistence.SyncNone
	default:
		return p, fmt.Errorf("interstice: log options: unknown sync policy %d", o.sync)
	}
	switch o.recovery {
	case C.INTERSTICE_RECOVER_TRUNCATE_TAIL:
		p.Recovery = persistence.RecoverTruncateTail
	case C.INTERSTICE_RECOVER_STRICT:
		p.Recovery = persistence.RecoverStrict
	case C.INTERSTICE_RECOVER_READ_ONLY:
		p.Recovery = persistence.RecoverReadOnly
	default:
		return p, fmt.Errorf("interstice: log options: unknown recovery mode %d", o.recovery)
	}
	if o.segment_size != 0 && (o.segment_size < persistence.MinSegmentSize || o.segment_size > persistence.MaxSegmentSize) {
		return p, fmt.Errorf("interstice: log options: segment size %d outside [%d, %d]", uint64(o.segment_size), persistence.MinSegmentSize, persistence.MaxSegmentSize)
	}
	p.SegmentSize = int64(o.segment_size)
	p.SyncInterval = time.Duration(o.sync_interval_ms) * time.Millisecond
	if o.retain_segments > 1<<20 {
		return p, fmt.Errorf("interstice: log options: retain_segments %d too large", uint32(o.retain_segments))
	}
	p.RetainSegments = int(o.retain_segments)
	return record.LogOptions(p), nil
}

//export interstice_log_open
func interstice_log_open(dir *C.ist_cchar, opts *C.ist_clogopts, out **C.interstice_log, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if out == nil {
		return bad(err, "log_open: out is NULL")
	}
	*out = nil
	d, ok := goString(dir)
	if !ok || d == "" {
		return bad(err, "log_open: dir is NULL or empty")
	}
	o, e := logOptions(opts)
	if e != nil {
		return C.int(setErr(err, eBadArgument, e.Error()))
	}
	l, e := persistence.Open(d, o)
	if e != nil {
		return fail(err, e)
	}
	newHandle(unsafe.Pointer(out), &logObj{l: l})
	return eOK
}

//export interstice_log_close
func interstice_log_close(lg *C.interstice_log, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if lg == nil {
		return eOK
	}
	o, rc := lookup[*logObj](unsafe.Pointer(lg), err, "log_close")
	if rc != eOK {
		return rc
	}
	if o.closed.Swap(true) {
		return failCode(err, eClosed, "log_close: log already closed")
	}
	deleteHandle(unsafe.Pointer(lg))
	if e := o.l.Close(); e != nil {
		return fail(err, e)
	}
	return eOK
}

// openLog resolves a log handle that must be open.
func openLog(lg *C.interstice_log, err **C.interstice_error, what string) (*logObj, C.int) {
	o, rc := lookup[*logObj](unsafe.Pointer(lg), err, what)
	if rc != eOK {
		return nil, rc
	}
	if o.closed.Load() {
		return nil, failCode(err, eClosed, "%s: log is closed", what)
	}
	return o, eOK
}

//export interstice_log_append
func interstice_log_append(lg *C.interstice_log, payload *C.ist_cu8, n C.size_t, outLSN *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_append")
	if rc != eOK {
		return rc
	}
	if payload == nil || n == 0 {
		return bad(err, "log_append: payload is NULL or empty")
	}
	if rc := inLen(err, n, persistence.MaxRecordSize, "log_append: len"); rc != eOK {
		return rc
	}
	// The log copies the payload into its frame buffer before it returns
	// and never retains it, so the C memory can be read in place; its
	// record check refuses a malformed one (ErrBadRecord).
	lsn, e := o.l.Append(record.Encoded(cBytes(payload, n)))
	if e != nil {
		return fail(err, e)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(lsn)
	}
	return eOK
}

//export interstice_log_append_json
func interstice_log_append_json(lg *C.interstice_log, js *C.ist_cchar, n C.size_t, outLSN *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_append_json")
	if rc != eOK {
		return rc
	}
	if js == nil || n == 0 {
		return bad(err, "log_append_json: json is NULL or empty")
	}
	if rc := inLen(err, n, persistence.MaxRecordSize*jsonFactor, "log_append_json: len"); rc != eOK {
		return rc
	}
	tx, e := record.ParseJSON(cBytes((*C.ist_cu8)(unsafe.Pointer(js)), n))
	if e != nil {
		return bad(err, "log_append_json: %v", e)
	}
	lsn, e := o.l.Append(tx)
	if e != nil {
		return fail(err, e)
	}
	if outLSN != nil {
		*outLSN = C.uint64_t(lsn)
	}
	return eOK
}

//export interstice_log_append_batch
func interstice_log_append_batch(lg *C.interstice_log, payloads *C.ist_cu8p, lens *C.ist_csize, count C.size_t, outFirst *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_append_batch")
	if rc != eOK {
		return rc
	}
	if outFirst != nil {
		*outFirst = 0
	}
	if count == 0 {
		return eOK
	}
	if payloads == nil || lens == nil {
		return bad(err, "log_append_batch: payloads or lens is NULL")
	}
	if count > 1<<24 {
		return bad(err, "log_append_batch: count %d too large", uint64(count))
	}
	ps := unsafe.Slice((**C.ist_cu8)(unsafe.Pointer(payloads)), int(count))
	ls := unsafe.Slice((*C.size_t)(unsafe.Pointer(lens)), int(count))
	txs := make([]persistence.Payload, count)
	for i := range txs {
		if ps[i] == nil || ls[i] == 0 {
			return bad(err, "log_append_batch: payload %d is NULL or empty", i)
		}
		if rc := inLen(err, ls[i], persistence.MaxRecordSize, fmt.Sprintf("log_append_batch: lens[%d]", i)); rc != eOK {
			return rc
		}
		p := cBytes(ps[i], ls[i]) // read in place, as in log_append
		if e := record.Verify(p); e != nil {
			return bad(err, "log_append_batch: payload %d: %v", i, e)
		}
		txs[i] = record.Encoded(p)
	}
	first, e := o.l.AppendBatch(txs)
	if e != nil {
		return fail(err, e)
	}
	if outFirst != nil {
		*outFirst = C.uint64_t(first)
	}
	return eOK
}

//export interstice_log_sync
func interstice_log_sync(lg *C.interstice_log, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_sync")
	if rc != eOK {
		return rc
	}
	if e := o.l.Sync(); e != nil {
		return fail(err, e)
	}
	return eOK
}

//export interstice_log_rotate
func interstice_log_rotate(lg *C.interstice_log, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_rotate")
	if rc != eOK {
		return rc
	}
	if e := o.l.Rotate(); e != nil {
		return fail(err, e)
	}
	return eOK
}

//export interstice_log_first_lsn
func interstice_log_first_lsn(lg *C.interstice_log, out *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_first_lsn")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "log_first_lsn: out is NULL")
	}
	*out = C.uint64_t(o.l.FirstLSN())
	return eOK
}

//export interstice_log_last_lsn
func interstice_log_last_lsn(lg *C.interstice_log, out *C.uint64_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_last_lsn")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "log_last_lsn: out is NULL")
	}
	*out = C.uint64_t(o.l.LastLSN())
	return eOK
}

//export interstice_log_replay
func interstice_log_replay(lg *C.interstice_log, from C.uint64_t, fn C.interstice_replay_fn, user unsafe.Pointer, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	o, rc := openLog(lg, err, "log_replay")
	if rc != eOK {
		return rc
	}
	if fn == nil {
		return bad(err, "log_replay: callback is NULL")
	}
	var buf scratch
	defer buf.free()
	e := o.l.Replay(uint64(from), func(r persistence.Record) error {
		p := buf.fill(r.Payload)
		if C.ist_call_replay(fn, user, C.uint64_t(r.LSN), p, C.size_t(len(r.Payload))) != 0 {
			return errStop
		}
		return nil
	})
	if e != nil && e != errStop {
		return fail(err, e)
	}
	return eOK
}

// ---- validate, inspect, repair ----

//export interstice_log_validate
func interstice_log_validate(dir *C.ist_cchar, opts *C.ist_clogopts, out **C.interstice_log_report, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	if out == nil {
		return bad(err, "log_validate: out is NULL")
	}
	*out = nil
	d, ok := goString(dir)
	if !ok || d == "" {
		return bad(err, "log_validate: dir is NULL or empty")
	}
	o, e := logOptions(opts)
	if e != nil {
		return C.int(setErr(err, eBadArgument, e.Error()))
	}
	rep, e := persistence.Validate(d, o)
	if e != nil {
		return fail(err, e)
	}
	r := (*C.interstice_log_report)(C.calloc(1, C.size_t(unsafe.Sizeof(C.interstice_log_report{}))))
	if r == nil {
		panic("out of memory")
	}
	r.records = C.uint64_t(rep.Records)
	r.bytes = C.uint64_t(rep.Bytes)
	r.valid_bytes = C.uint64_t(rep.ValidBytes)
	r.first_lsn = C.uint64_t(rep.FirstLSN)
	r.last_lsn = C.uint64_t(rep.LastLSN)
	r.segments = C.uint32_t(len(rep.Segments))
	if rep.TornTail {
		r.torn_tail = 1
	}
	if p := rep.Torn; p != nil {
		r.torn_segment = C.CString(p.Segment)
		r.torn_offset = C.int64_t(p.Offset)
		r.torn_lsn = C.uint64_t(p.LSN)
		r.torn_reason = C.CString(p.Reason)
	}
	if p := rep.Problem; p != nil {
		r.problem_code = C.int32_t(statusOf(p.Err))
		if r.problem_code == eInternal || r.problem_code == eOK {
			r.problem_code = eCorrupt
		}
		r.problem_segment = C.CString(p.Segment)
		r.problem_offset = C.int64_t(p.Offset)
		r.problem_lsn = C.uint64_t(p.LSN)
		r.problem_reason = C.CString(p.Reason)
	}
	*out = r
	return eOK
}

//export interstice_log_report_free
func interstice_log_report_free(r *C.interstice_log_report) {
	if r == nil {
		return
	}
	for _, s := range []*C.char{r.torn_segment, r.torn_reason, r.problem_segment, r.problem_reason} {
		if s != nil {
			C.free(unsafe.Pointer(s))
		}
	}
	C.free(unsafe.Pointer(r))
}

type jsonProblem struct {
	Segment string `json:"segment"`
	Offset  int64  `json:"offset"`
	LSN     uint64 `json:"lsn"`
	Reason  string `json:"reason"`
}

func problemJSON(p *persistence.Problem) *jsonProblem {
	if p == nil {
		return nil
	}
	return &jsonProblem{p.Segment, p.Offset, p.LSN, p.Reason}
}

type jsonSegment struct {
	Name      string `json:"name"`
	FirstLSN  uint64 `json:"first_lsn"`
	LastLSN   uint64 `json:"last_lsn"`
	Records   int64  `json:"records"`
	Bytes     int64  `json:"bytes"`
	DataBytes int64  `json:"data_bytes"`
}

type jsonInfo struct {
	Segments   []jsonSegment    `json:"segments"`
	Records    int64            `json:"records"`
	Bytes      int64            `json:"bytes"`
	ValidBytes int64            `json:"valid_bytes"`
	FirstLSN   uint64           `json:"first_lsn"`
	LastLSN    uint64           `json:"last_lsn"`
	TornTail   bool             `json:"torn_tail"`
	Torn       *jsonProblem     `json:"torn"`
	Problem    *jsonProblem     `json:"problem"`
	Mutations  int64            `json:"mutations"`
	ByKind     map[string]int64 `json:"by_kind"`
	ByModule   map[string]int64 `json:"by_module"`
	ByTable    map[string]int64 `json:"by_table"`
	ByOp       map[string]int64 `json:"by_op"`
}

//export interstice_log_inspect
func interstice_log_inspect(dir *C.ist_cchar, opts *C.ist_clogopts, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	if out == nil {
		return bad(err, "log_inspect: out is NULL")
	}
	d, ok := goString(dir)
	if !ok || d == "" {
		return bad(err, "log_inspect: dir is NULL or empty")
	}
	o, e := logOptions(opts)
	if e != nil {
		return C.int(setErr(err, eBadArgument, e.Error()))
	}
	info, e := record.Inspect(d, o)
	if e != nil {
		return fail(err, e)
	}
	j := jsonInfo{
		Segments: []jsonSegment{}, Records: info.Records, Bytes: info.Bytes, ValidBytes: info.ValidBytes,
		FirstLSN: info.FirstLSN, LastLSN: info.LastLSN, TornTail: info.TornTail,
		Torn: problemJSON(info.Torn), Problem: problemJSON(info.Problem), Mutations: info.Mutations,
		ByKind: info.ByKind, ByModule: info.ByModule, ByTable: info.ByTable, ByOp: info.ByOp,
	}
	for _, s := range info.Segments {
		j.Segments = append(j.Segments, jsonSegment{s.Name, s.FirstLSN, s.LastLSN, s.Records, s.Bytes, s.DataBytes})
	}
	b, e := json.Marshal(j)
	if e != nil {
		return fail(err, e)
	}
	putBytes(unsafe.Pointer(out), outLen, b)
	return eOK
}

type jsonRepair struct {
	Action        string       `json:"action"`
	Problem       *jsonProblem `json:"problem"`
	BrokenFiles   []string     `json:"broken_files"`
	MovedSegments []string     `json:"moved_segments"`
	LastLSN       uint64       `json:"last_lsn"`
}

//export interstice_log_repair
func interstice_log_repair(dir *C.ist_cchar, opts *C.ist_clogopts, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	d, ok := goString(dir)
	if !ok || d == "" {
		return bad(err, "log_repair: dir is NULL or empty")
	}
	o, e := logOptions(opts)
	if e != nil {
		return C.int(setErr(err, eBadArgument, e.Error()))
	}
	rep, e := persistence.Repair(d, o)
	if e != nil {
		return fail(err, e)
	}
	if out != nil {
		j := jsonRepair{Action: rep.Action, Problem: problemJSON(rep.Problem), BrokenFiles: rep.BrokenFiles, MovedSegments: rep.MovedSegments, LastLSN: rep.LastLSN}
		if j.BrokenFiles == nil {
			j.BrokenFiles = []string{}
		}
		if j.MovedSegments == nil {
			j.MovedSegments = []string{}
		}
		b, e := json.Marshal(j)
		if e != nil {
			return fail(err, e)
		}
		putBytes(unsafe.Pointer(out), outLen, b)
	}
	return eOK
}

//export interstice_record_to_json
func interstice_record_to_json(payload *C.ist_cu8, n C.size_t, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	if out == nil {
		return bad(err, "record_to_json: out is NULL")
	}
	if payload == nil || n == 0 {
		return bad(err, "record_to_json: payload is NULL or empty")
	}
	if n < 8 {
		return bad(err, "record_to_json: payload of %d bytes is too short for a transaction", uint64(n))
	}
	if rc := inLen(err, n, persistence.MaxRecordSize, "record_to_json: len"); rc != eOK {
		return rc
	}
	b, e := record.AppendJSON(nil, cBytes(payload, n))
	if e != nil {
		return bad(err, "record_to_json: %v", e)
	}
	putBytes(unsafe.Pointer(out), outLen, b)
	return eOK
}

//export interstice_log_stats
func interstice_log_stats(lg *C.interstice_log, out **C.char, outLen *C.size_t, err **C.interstice_error) (rc C.int) {
	defer guard(&rc, err)
	begin(err)
	putNone(unsafe.Pointer(out), outLen)
	o, rc := openLog(lg, err, "log_stats")
	if rc != eOK {
		return rc
	}
	if out == nil {
		return bad(err, "log_stats: out is NULL")
	}
	putBytes(unsafe.Pointer(out), outLen, appendStatsJSON(nil, o.l.Stats()))
	return eOK
}

// appendStatsJSON appends the JSON form of a log's write counters, the
// answer of interstice_log_stats and interstice_runtime_log_stats.
func appendStatsJSON(b []byte, st persistence.Stats) []byte {
	b = append(b, `{"writes":`...)
	b = strconv.AppendUint(b, st.Writes, 10)
	b = append(b, `,"fdatasyncs":`...)
	b = strconv.AppendUint(b, st.Syncs, 10)
	b = append(b, `,"records":`...)
	b = strconv.AppendUint(b, st.Records, 10)
	b = append(b, `,"gathers":`...)
	b = strconv.AppendUint(b, st.Gathers, 10)
	return append(b, '}')
}
