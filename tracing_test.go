package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: it decodes what
// the server's exporter sends, as a collector would.
type otlpReceiver struct {
	addr  string
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var in coltrace.ExportTraceServiceRequest
		if err != nil || req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &in) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range in.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return r
}

// trace returns the spans received so far with this trace id.
func (r *otlpReceiver) trace(id []byte) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if bytes.Equal(s.TraceId, id) {
			out = append(out, s)
		}
	}
	return out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

// TestTracesFollowTraceparentAndHoldNoSecrets: with OTEL_EXPORTER_OTLP_ENDPOINT
// set, a request that carries a W3C traceparent is a server span of that trace
// and a child of the caller's span, the database commands it makes are spans
// under it, and no span of any request holds a secret, a token or a query string.
func TestTracesFollowTraceparentAndHoldNoSecrets(t *testing.T) {
	recv := startOTLPReceiver(t)
	p := newServerProc(t, t.TempDir())
	p.env = append(p.env, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+recv.addr, "OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_SERVICE_NAME=credkeep-test")
	p.start()

	const apiKey = "trace-test-api-key-5f1c9e"
	d, ok := p.gql(`mutation { createWorkspace(input: {name: "traced"}) { id } }`, nil)
	if !ok {
		t.Fatal("create workspace")
	}
	ws := d["createWorkspace"].(map[string]any)["id"].(string)
	d, ok = p.gql(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"workspaceId": ws, "type": "api_key", "name": "traced key", "fields": []map[string]any{{"key": "apiKey", "value": apiKey}}}})
	if !ok {
		t.Fatal("create credential")
	}
	credID := d["createCredential"].(map[string]any)["id"].(string)

	traceID, parentID := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(map[string]any{"query": `query($id: ID!) { credential(id: $id) { name fields { key hint } } }`, "variables": map[string]any{"id": credID}})
	req, _ := http.NewRequest(http.MethodPost, p.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.jwt)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), "traced key") {
		t.Fatalf("query: %d %s", resp.StatusCode, answer)
	}
	// A callback-like request whose query string holds a code.
	if r, err := http.Get(p.base + "/oauth/callback?code=oauth-code-4711&state=st-4711"); err == nil {
		r.Body.Close()
	}

	tid, _ := hex.DecodeString(traceID)
	pid, _ := hex.DecodeString(parentID)
	var server *tracepb.Span
	var spans []*tracepb.Span
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		spans = recv.trace(tid)
		server = nil
		for _, s := range spans {
			if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
				server = s
			}
		}
		if server != nil && len(spans) > 1 {
			break
		}
	}
	if server == nil {
		t.Fatalf("no server span of trace %s received (%d spans of it)", traceID, len(spans))
	}
	if !bytes.Equal(server.ParentSpanId, pid) {
		t.Errorf("server span's parent %x, want the caller's span %s", server.ParentSpanId, parentID)
	}
	if server.Name != "POST /graphql" {
		t.Errorf("server span named %q", server.Name)
	}
	if v := attr(server, "http.response.status_code"); v == nil || v.GetIntValue() != 200 {
		t.Errorf("status attribute %v, want 200", v)
	}
	// Database commands nest under the request: the credential and the
	// workspace's state are read (or come from caches that were filled by
	// the requests before: at least the state of the epochs is read fresh).
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[string(s.SpanId)] = s
	}
	dbSpans := 0
	for _, s := range spans {
		if v := attr(s, "db.system"); v == nil || v.GetStringValue() != "mongodb" {
			continue
		}
		dbSpans++
		up := s
		for up != nil && !bytes.Equal(up.SpanId, server.SpanId) {
			up = byID[string(up.ParentSpanId)]
		}
		if up == nil {
			t.Errorf("database span %q is not under the request's span", s.Name)
		}
		if attr(s, "db.statement") != nil {
			t.Errorf("database span %q carries the command", s.Name)
		}
	}
	if dbSpans == 0 {
		t.Errorf("no database span in the trace: %d spans", len(spans))
	}

	// Nothing secret in any span received, of any trace.
	time.Sleep(300 * time.Millisecond) // the callback's span, batched
	recv.mu.Lock()
	all := recv.spans
	recv.mu.Unlock()
	for _, s := range all {
		text := s.Name
		for _, a := range s.Attributes {
			text += " " + a.Key + "=" + a.Value.String()
		}
		for _, bad := range []string{apiKey, p.jwt, "oauth-code-4711", "st-4711", secret} {
			if strings.Contains(text, bad) {
				t.Errorf("span %q holds %q", s.Name, bad[:6])
			}
		}
	}
	t.Logf("%d spans received, %d in the traced request (%d database commands)", len(all), len(spans), dbSpans)
}
