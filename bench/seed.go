package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// seeded is what the scenarios use.
type seeded struct {
	workspaces []string
	creds      []string
	token      string // an API token with CREDENTIALS_USE
	apq        []byte // a hash-only APQ request
}

// seedData makes seedWorkspaces workspaces (-workspaces, 20), nCreds credentials spread over them, 200
// grants to other members and 50 API tokens, through the API itself.
func seedData(s *server, nCreds int) (*seeded, error) {
	call := s.call
	sd := &seeded{}
	for w := 0; w < seedWorkspaces; w++ {
		d, err := call(`mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }`, map[string]any{"n": fmt.Sprintf("workspace %02d", w)}, s.jwt)
		if err != nil {
			return nil, err
		}
		ws := d["createWorkspace"].(map[string]any)["id"].(string)
		sd.workspaces = append(sd.workspaces, ws)
		for m := 0; m < 10; m++ {
			if _, err := call(`mutation($ws: ID!, $u: ID!) { addMember(workspaceId: $ws, userId: $u, role: MEMBER) { role } }`,
				map[string]any{"ws": ws, "u": fmt.Sprintf("member-%d", m)}, s.jwt); err != nil {
				return nil, err
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	work := make(chan int)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ws := sd.workspaces[i%len(sd.workspaces)]
				d, err := call(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
					"workspaceId": ws, "type": "smtp", "name": fmt.Sprintf("smtp %05d", i),
					"fields": []map[string]any{{"key": "host", "value": "smtp.example.com"}, {"key": "username", "value": "mailer"},
						{"key": "password", "value": fmt.Sprintf("bench-password-%05d", i)}}}}, s.jwt)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				id := d["createCredential"].(map[string]any)["id"].(string)
				if i < 200 {
					if _, err := call(`mutation($id: ID!, $u: ID!) { shareCredential(input: {credentialId: $id, granteeKind: USER, userId: $u, level: VIEW}) { id } }`,
						map[string]any{"id": id, "u": fmt.Sprintf("member-%d", i%10)}, s.jwt); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
				mu.Lock()
				sd.creds = append(sd.creds, id)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < nCreds; i++ {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return nil, err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	for t := 0; t < 50; t++ {
		d, err := call(`mutation($n: String!) { createApiToken(input: {name: $n, scopes: [CREDENTIALS_USE, CREDENTIALS_READ]}) { secret } }`, map[string]any{"n": fmt.Sprintf("bot %02d", t)}, s.jwt)
		if err != nil {
			return nil, err
		}
		if t == 0 {
			sd.token = d["createApiToken"].(map[string]any)["secret"].(string)
		}
	}
	q := `query BenchViewer { viewer { isAdmin user { id } } }`
	sum := sha256.Sum256([]byte(q))
	hash := hex.EncodeToString(sum[:])
	register, _ := json.Marshal(map[string]any{"query": q, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(register))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.jwt)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	sd.apq, _ = json.Marshal(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
	return sd, nil
}

// call runs one GraphQL operation with the bearer token auth.
func (s *server) call(q string, vars map[string]any, auth string) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(gqlBody(q, vars)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("%v", out.Errors)
	}
	return out.Data, nil
}
