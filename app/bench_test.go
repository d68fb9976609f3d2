package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkListCredentials lists a workspace of 1,000 credentials of which the
// viewer can see half (shared with them at VIEW): one request for a page of 200
// with masked fields and owners, and the total count of 500.
func BenchmarkListCredentials(b *testing.B) {
	e := newEnv(b)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "bench")
	e.addMember(owner, ws, "viewer", "MEMBER")
	ids := make([]string, 1000)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ids[i] = e.createCredential(owner, ws, "smtp", fmt.Sprintf("cred %04d", i), smtpFields(secrets[0])...)
			if i%2 == 0 {
				mustOK(e.t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{
					"credentialId": ids[i], "granteeKind": "USER", "userId": "viewer", "level": "VIEW"}}))
			}
		}()
	}
	wg.Wait()
	viewer := e.token("viewer")
	const q = `query($ws: ID!) { workspace(id: $ws) { credentials(first: 200) { totalCount edges { node { id name viewerAccess owner { id email } fields { key value isSet hint } } } } } }`
	vars := map[string]any{"ws": ws}
	var check struct {
		Credentials struct {
			TotalCount int
			Edges      []struct{ Node struct{ Fields []fieldJSON } }
		}
	}
	mustOK(e.t, e.gql(viewer, q, vars)).field(e.t, "workspace", &check)
	if check.Credentials.TotalCount != 500 || len(check.Credentials.Edges) != 200 || len(check.Credentials.Edges[0].Node.Fields) != 6 {
		b.Fatalf("unexpected page: total %d, %d edges", check.Credentials.TotalCount, len(check.Credentials.Edges))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustOK(e.t, e.gql(viewer, q, vars))
	}
}

// BenchmarkUseCredential drives useCredential end to end over HTTP on the
// embedded database (token check, rate limit, authorization, decryption,
// counters, audit entry), and a bare net/http JSON handler as the baseline,
// both with 8 concurrent clients. It reports requests/s, p50 and p99.
func BenchmarkUseCredential(b *testing.B) {
	e := newEnvWith(b, func(e *env) { e.rateLimit = 1 << 30 })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "bench")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	tok, _ := e.apiToken(alice, map[string]any{"name": "bench", "scopes": []string{"CREDENTIALS_USE"}})
	body, _ := json.Marshal(map[string]any{"query": useCredential, "variables": map[string]any{"id": cred, "consumer": map[string]any{"kind": "BOT", "id": "bench-bot"}}})

	baseline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ok": true}})
	}))
	b.Cleanup(baseline.Close)

	b.Run("baseline", func(b *testing.B) { loadTest(b, baseline.URL, "", body) })
	b.Run("useCredential", func(b *testing.B) { loadTest(b, e.srv.URL+"/graphql", tok, body) })
}

// loadTest posts body b.N times from 8 goroutines and reports throughput and latency percentiles.
func loadTest(b *testing.B, url, token string, body []byte) {
	const clients = 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var lat []time.Duration
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for range next {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
					b.Errorf("status %d: %s", resp.StatusCode, out)
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
