package app_test

import (
	"fmt"
	"sync"
	"testing"
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
