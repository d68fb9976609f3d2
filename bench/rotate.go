package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// RotationResult is what the rotation scenario measured.
type RotationResult struct {
	Credentials int     `json:"credentials"`
	Seconds     float64 `json:"rotation_seconds"`
	Before      Row     `json:"use_before"`
	During      Row     `json:"use_during"`
	// Ratio is useCredential's throughput during the rotation over before it.
	Ratio float64 `json:"throughput_during_over_before"`
}

// rotateScenario seeds one workspace with n credentials, measures
// useCredential on them for d, then rotates the workspace's data key while
// the same load runs, and reports how long the rotation took and what the
// load got meanwhile.
func rotateScenario(srv *server, n int, d time.Duration, conns int) (RotationResult, error) {
	fmt.Fprintf(os.Stderr, "seeding one workspace of %d credentials ...\n", n)
	r, err := srv.call(`mutation { createWorkspace(input: {name: "rotation"}) { id } }`, nil, srv.jwt)
	if err != nil {
		return RotationResult{}, err
	}
	ws := r["createWorkspace"].(map[string]any)["id"].(string)
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	// One at a time: concurrent creates in one workspace race on its policy
	// version, and each loser rebuilds the workspace's policies from every
	// rule (about 25 minutes for 5,000 with 16 at once, 90 s in sequence).
	for g := 0; g < 1; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d, err := srv.call(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
					"workspaceId": ws, "type": "api_key", "name": fmt.Sprintf("key %05d", i),
					"fields": []map[string]any{{"key": "apiKey", "value": fmt.Sprintf("rotation-bench-key-%05d", i)}}}}, srv.jwt)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					ids[i] = d["createCredential"].(map[string]any)["id"].(string)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return RotationResult{}, firstErr
	}
	t, err := srv.call(`mutation($ws: ID!) { createApiToken(input: {name: "rotation bench", scopes: [CREDENTIALS_USE], workspaceId: $ws}) { secret } }`,
		map[string]any{"ws": ws}, srv.jwt)
	if err != nil {
		return RotationResult{}, err
	}
	token := t["createApiToken"].(map[string]any)["secret"].(string)
	use := func(i int) []byte {
		return gqlBody(`mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": ids[i%n]})
	}

	fmt.Fprintln(os.Stderr, "useCredential before the rotation ...")
	attack("warm-up", srv.base+"/graphql", token, use, d/2, conns, 0)
	res := RotationResult{Credentials: n}
	res.Before = attack("useCredential before", srv.base+"/graphql", token, use, d, conns, srv.pid())

	fmt.Fprintln(os.Stderr, "rotateWorkspaceKey with useCredential running ...")
	done := make(chan struct{})
	var rotErr error
	go func() {
		defer close(done)
		time.Sleep(200 * time.Millisecond) // the load is running
		start := time.Now()
		if _, rotErr = srv.call(`mutation($ws: ID!) { rotateWorkspaceKey(workspaceId: $ws) { keyRotatedAt } }`, map[string]any{"ws": ws}, srv.jwt); rotErr != nil {
			return
		}
		// It answers after 20 s with the rotation still running: wait for its end.
		for {
			d, err := srv.call(`query($ws: ID!) { workspace(id: $ws) { keyRotatedAt keyRotationStartedAt } }`, map[string]any{"ws": ws}, srv.jwt)
			if err != nil {
				rotErr = err
				return
			}
			w := d["workspace"].(map[string]any)
			if w["keyRotatedAt"] != nil && w["keyRotationStartedAt"] == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		res.Seconds = time.Since(start).Seconds()
	}()
	res.During = attackUntil("useCredential during", srv.base+"/graphql", token, use, time.Hour, conns, srv.pid(), done)
	<-done
	if rotErr != nil {
		return res, rotErr
	}
	if res.Before.RPS > 0 {
		res.Ratio = res.During.RPS / res.Before.RPS
	}
	fmt.Printf("\nrotateWorkspaceKey of %d credentials: %.1f s\n", n, res.Seconds)
	for _, r := range []Row{res.Before, res.During} {
		fmt.Printf("%-34s %9.0f req/s %7.1f%% ok  p50 %7.2f ms  p99 %7.2f ms\n", r.Scenario, r.RPS, r.Success*100, r.P50ms, r.P99ms)
	}
	fmt.Printf("useCredential during / before: %.2fx\n", res.Ratio)
	return res, nil
}
