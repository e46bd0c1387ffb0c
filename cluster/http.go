package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/interstice/interstice/core"
)

// Handler returns the node's HTTP/JSON API (docs/CLUSTER.md):
//
//	POST /v1/call/{module}/{reducer}   body: JSON arguments (array or object)
//	POST /v1/load                      body: the module's wasm
//	GET  /v1/get/{module}/{table}?key=JSON
//	GET  /v1/scan/{module}/{table}?limit=N
//	GET  /v1/count/{module}/{table}
//	GET  /v1/describe/{module}
//	GET  /v1/status
//	GET  /v1/hash
//	POST /v1/join?id=ID&addr=RAFT_ADDR
//	POST /v1/remove?id=ID
//
// Reads take ?read=local (the default: this node's applied state, which on
// the leader may include calls not yet acknowledged) or ?read=linearizable
// (on the leader, after a raft barrier: everything acknowledged before the
// read began, and nothing that could be lost). Every reply is JSON and
// carries the node's applied LSN (header X-Interstice-LSN); an error is
// {"error": text, "code": name} with a status that says whose fault it was.
// A follower forwards a write, a join or remove, or a linearizable read to
// the leader when it knows the leader's HTTP address (Config.HTTPAddr: the
// leader records its own in the raft log), once; otherwise it answers 421
// with "leader_id" and "leader" (the leader's raft address).
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/call/{module}/{reducer}", n.httpCall)
	mux.HandleFunc("POST /v1/load", n.httpLoad)
	mux.HandleFunc("GET /v1/get/{module}/{table}", n.httpGet)
	mux.HandleFunc("GET /v1/scan/{module}/{table}", n.httpScan)
	mux.HandleFunc("GET /v1/count/{module}/{table}", n.httpCount)
	mux.HandleFunc("GET /v1/describe/{module}", n.httpDescribe)
	mux.HandleFunc("GET /v1/status", n.httpStatus)
	mux.HandleFunc("GET /v1/hash", n.httpHash)
	mux.HandleFunc("POST /v1/join", n.httpJoin)
	mux.HandleFunc("POST /v1/remove", n.httpRemove)
	return mux
}

// maxBody bounds a request body (a module's wasm is the largest).
const maxBody = 256 << 20

func (n *Node) reply(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Interstice-LSN", strconv.FormatUint(n.fsm.applied(), 10))
	w.WriteHeader(status)
	w.Write(body)
	if len(body) == 0 || body[len(body)-1] != '\n' {
		w.Write([]byte{'\n'})
	}
}

func (n *Node) replyJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.fail(w, err)
		return
	}
	n.reply(w, http.StatusOK, b)
}

// fail replies with err: 421 for a follower, 404 for what does not exist,
// 400 for a bad request, 409 for a reducer's refusal, 503 for an outcome
// the client cannot know (POISONED: retry on the leader and check), 500
// otherwise.
func (n *Node) fail(w http.ResponseWriter, err error) {
	body := map[string]any{"error": core.ErrorText(err)}
	status := http.StatusInternalServerError
	var nl *NotLeaderError
	switch code := core.CodeOf(err); {
	case errors.As(err, &nl):
		status = http.StatusMisdirectedRequest
		body["code"], body["leader_id"], body["leader"] = "NOT_LEADER", nl.LeaderID, nl.Leader
	case code == core.CodeNotFound:
		status, body["code"] = http.StatusNotFound, "NOT_FOUND"
	case code == core.CodeBadArgument || code == core.CodeType || code == core.CodeLimit:
		status, body["code"] = http.StatusBadRequest, code.String()
	case code == core.CodeReducerFailed || code == core.CodeDuplicateKey || code == core.CodeTrap || code == core.CodeTimeout:
		status, body["code"] = http.StatusConflict, code.String()
	case code == core.CodePoisoned || code == core.CodeClosed:
		status, body["code"] = http.StatusServiceUnavailable, code.String()
	default:
		if code != 0 {
			body["code"] = code.String()
		}
	}
	b, _ := json.Marshal(body)
	n.reply(w, status, b)
}

// forwarded marks a request a follower forwarded, so that it is never
// forwarded twice.
const forwarded = "X-Interstice-Forwarded"

// forward sends a request meant for the leader on to it (its HTTP address
// from the raft log's member entries) and reports whether it did: not
// when this node leads, when the leader's HTTP address is unknown, or
// when the request was forwarded already.
func (n *Node) forward(w http.ResponseWriter, r *http.Request) bool {
	if n.ready.Load() || r.Header.Get(forwarded) != "" {
		return false
	}
	_, id := n.Leader()
	target := n.fsm.httpOf(id)
	if id == "" || target == "" {
		return false
	}
	p := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(&url.URL{Scheme: "http", Host: target})
		pr.Out.Header.Set(forwarded, n.cfg.ID)
	}}
	p.ServeHTTP(w, r)
	return true
}

// leaderBody forwards a write to the leader, or reads its body here; ok
// is false when the request is answered already.
func (n *Node) leaderBody(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	if n.forward(w, r) {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		n.fail(w, &core.Error{Code: core.CodeBadArgument, Msg: "read the request body", Err: err})
		return nil, false
	}
	return body, true
}

func (n *Node) httpCall(w http.ResponseWriter, r *http.Request) {
	args, ok := n.leaderBody(w, r)
	if !ok {
		return
	}
	if len(strings.TrimSpace(string(args))) == 0 {
		args = []byte("[]")
	}
	res, err := n.CallJSON(r.Context(), r.PathValue("module"), r.PathValue("reducer"), args)
	if err != nil {
		n.fail(w, err)
		return
	}
	n.reply(w, http.StatusOK, res.AppendJSON(nil))
}

func (n *Node) httpLoad(w http.ResponseWriter, r *http.Request) {
	wasm, ok := n.leaderBody(w, r)
	if !ok {
		return
	}
	info, err := n.LoadModule(wasm)
	if err != nil {
		n.fail(w, err)
		return
	}
	n.replyJSON(w, map[string]any{"module": info.Name, "version": info.Version, "wasm_sha256": fmt.Sprintf("%x", info.WasmSHA256)})
}

// readerFor returns the runtime a read request reads (reader), or
// forwards a linearizable read to the leader; ok is false when the
// request is answered already.
func (n *Node) readerFor(w http.ResponseWriter, r *http.Request) (*core.Runtime, bool) {
	if r.URL.Query().Get("read") == "linearizable" && n.forward(w, r) {
		return nil, false
	}
	rt, err := n.reader(r)
	if err != nil {
		n.fail(w, err)
		return nil, false
	}
	return rt, true
}

// reader returns the runtime to read, after the barrier a linearizable
// read needs.
func (n *Node) reader(r *http.Request) (*core.Runtime, error) {
	switch r.URL.Query().Get("read") {
	case "", "local":
		return n.Runtime(), nil
	case "linearizable":
		if err := n.Linearize(r.Context()); err != nil {
			return nil, err
		}
		return n.Runtime(), nil
	default:
		return nil, &core.Error{Code: core.CodeBadArgument, Msg: `read must be "local" or "linearizable"`}
	}
}

// Linearize returns once a read of this node's runtime sees every write
// acknowledged before Linearize was called and nothing that could still
// be lost: on the leader, after a raft barrier (every unit proposed so far
// is committed and applied). A follower refuses with a NotLeaderError.
func (n *Node) Linearize(ctx context.Context) error {
	if !n.ready.Load() {
		return n.notLeader()
	}
	if err := n.raft.Barrier(n.applyWait).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return n.notLeader()
		}
		return fmt.Errorf("cluster: linearizable read: %w", err)
	}
	if !n.ready.Load() {
		return n.notLeader()
	}
	return nil
}

func (n *Node) httpGet(w http.ResponseWriter, r *http.Request) {
	rt, ok := n.readerFor(w, r)
	if !ok {
		return
	}
	js, found, err := rt.GetJSON(r.PathValue("module"), r.PathValue("table"), []byte(r.URL.Query().Get("key")))
	switch {
	case err != nil:
		n.fail(w, err)
	case !found:
		n.fail(w, &core.Error{Code: core.CodeNotFound, Module: r.PathValue("module"), Table: r.PathValue("table"), Msg: "no row with key " + r.URL.Query().Get("key")})
	default:
		n.reply(w, http.StatusOK, js)
	}
}

func (n *Node) httpScan(w http.ResponseWriter, r *http.Request) {
	rt, ok := n.readerFor(w, r)
	if !ok {
		return
	}
	limit := -1
	if s := r.URL.Query().Get("limit"); s != "" {
		var err error
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			n.fail(w, &core.Error{Code: core.CodeBadArgument, Msg: "limit must be a non-negative integer"})
			return
		}
	}
	mod, tbl := r.PathValue("module"), r.PathValue("table")
	sc, err := rt.Scan(mod, tbl, nil)
	if err != nil {
		n.fail(w, err)
		return
	}
	out := []byte{'['}
	for i := 0; limit < 0 || i < limit; i++ {
		if !sc.Next() {
			break
		}
		js, err := rt.RowJSON(mod, tbl, sc.Row())
		if err != nil {
			n.fail(w, err)
			return
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, js...)
	}
	if err := sc.Err(); err != nil {
		n.fail(w, err)
		return
	}
	n.reply(w, http.StatusOK, append(out, ']'))
}

func (n *Node) httpCount(w http.ResponseWriter, r *http.Request) {
	rt, ok := n.readerFor(w, r)
	if !ok {
		return
	}
	c, err := rt.Count(r.PathValue("module"), r.PathValue("table"))
	if err != nil {
		n.fail(w, err)
		return
	}
	n.replyJSON(w, map[string]any{"count": c})
}

func (n *Node) httpDescribe(w http.ResponseWriter, r *http.Request) {
	_, js, err := n.Runtime().Describe(r.PathValue("module"))
	if err != nil {
		n.fail(w, err)
		return
	}
	n.reply(w, http.StatusOK, js)
}

func (n *Node) httpStatus(w http.ResponseWriter, r *http.Request) {
	st := n.Status()
	n.replyJSON(w, map[string]any{"id": st.ID, "state": st.State, "leader": st.Leader, "leader_id": st.LeaderID,
		"term": st.Term, "applied_lsn": st.AppliedLSN, "leading": n.IsLeader(), "installed_snapshots": st.InstalledSnapshots, "snapshot_index": st.SnapshotIndex})
}

func (n *Node) httpHash(w http.ResponseWriter, r *http.Request) {
	lsn, sum, err := n.StateHash()
	if err != nil {
		n.fail(w, err)
		return
	}
	n.replyJSON(w, map[string]any{"lsn": lsn, "sha256": fmt.Sprintf("%x", sum)})
}

func (n *Node) httpJoin(w http.ResponseWriter, r *http.Request) {
	if n.forward(w, r) {
		return
	}
	id, addr := r.URL.Query().Get("id"), r.URL.Query().Get("addr")
	if id == "" || addr == "" {
		n.fail(w, &core.Error{Code: core.CodeBadArgument, Msg: "join needs id and addr"})
		return
	}
	if err := n.Join(id, addr); err != nil {
		n.fail(w, err)
		return
	}
	n.replyJSON(w, map[string]any{"joined": id})
}

func (n *Node) httpRemove(w http.ResponseWriter, r *http.Request) {
	if n.forward(w, r) {
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		n.fail(w, &core.Error{Code: core.CodeBadArgument, Msg: "remove needs id"})
		return
	}
	if err := n.Remove(id); err != nil {
		n.fail(w, err)
		return
	}
	n.replyJSON(w, map[string]any{"removed": id})
}
