package main

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// ColdList is the latency of the first page of a workspace read after a
// write in it (the write moves the workspace's data version, so the page
// cannot be served from what an earlier read cached as it was).
type ColdList struct {
	Credentials int     `json:"credentials_in_workspace"`
	Rounds      int     `json:"rounds"`
	MedianMs    float64 `json:"median_ms"`
	MaxMs       float64 `json:"max_ms"`
}

// coldLists writes a credential into the first workspace, then times the
// page of 50 (with fields and owner) that follows, ten times.
func coldLists(s *server, sd *seeded) (ColdList, error) {
	ws := sd.workspaces[0]
	var took []float64
	total := 0
	for i := 0; i < 10; i++ {
		if _, err := s.call(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"workspaceId": ws, "type": "api_key", "name": fmt.Sprintf("cold %02d", i),
			"fields": []map[string]any{{"key": "apiKey", "value": fmt.Sprintf("cold-api-key-%02d-0123456789", i)}}}}, s.jwt); err != nil {
			return ColdList{}, err
		}
		start := time.Now()
		d, err := s.call(pageQuery, map[string]any{"ws": ws}, s.jwt)
		if err != nil {
			return ColdList{}, err
		}
		took = append(took, float64(time.Since(start).Microseconds())/1000)
		total = int(d["workspace"].(map[string]any)["credentials"].(map[string]any)["totalCount"].(float64))
	}
	slices.Sort(took)
	return ColdList{Credentials: total, Rounds: len(took), MedianMs: took[len(took)/2], MaxMs: took[len(took)-1]}, nil
}

// traceSink starts an OTLP/HTTP receiver that accepts and discards every
// export, and returns its URL: what traces cost the server, not a collector.
func traceSink() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(http.StatusOK)
		}))
	}()
	return "http://" + ln.Addr().String()
}

// firstPageResult is how long the first page of a workspace took while every
// list was cold: on the embedded database that request waits for the read of
// every credential (credential/cache.go, allLists), which the page scenario's
// other requests start too.
type firstPageResult struct {
	Ms    float64 `json:"ms"`
	Error string  `json:"error,omitempty"`
}

func (r firstPageResult) String() string {
	if r.Error != "" {
		return fmt.Sprintf("failed after %.0f ms: %s", r.Ms, r.Error)
	}
	return fmt.Sprintf("%.1f ms", r.Ms)
}

func timeFirstPage(s *server, ws string) firstPageResult {
	start := time.Now()
	_, err := s.call(pageQuery, map[string]any{"ws": ws}, s.jwt)
	r := firstPageResult{Ms: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// firstPageAfterRestart restarts the server on its data, waits until it has
// settled (what it does at start is done), and times the first page of
// workspace ws: on the embedded database the lists are read at start
// (credential.Service.WarmCache), so the page is served from memory.
func firstPageAfterRestart(s *server, bin, ws string) (firstPageResult, time.Duration) {
	if err := s.restart(bin); err != nil {
		return firstPageResult{Error: err.Error()}, 0
	}
	settled := settle(s.pid())
	return timeFirstPage(s, ws), settled
}
