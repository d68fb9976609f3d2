package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/embedded"
)

// TestKeyRotationSurvivesKill kills the server (SIGKILL) at several moments of
// a workspace key rotation, and after each restart reads every secret of the
// workspace (each hint proves its secret decrypts); the last restart finishes
// the rotation by itself.
func TestKeyRotationSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server")
	}
	dataDir, err := os.MkdirTemp("", "ckrotate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	p := newServerProc(t, dataDir)
	p.start()
	d, ok := p.gql(`mutation { createWorkspace(input: {name: "rotating"}) { id } }`, nil)
	if !ok {
		t.Fatal("create workspace")
	}
	ws := d["createWorkspace"].(map[string]any)["id"].(string)
	const n = 300
	for i := 0; i < n; i++ {
		if _, ok := p.gql(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"workspaceId": ws, "type": "api_key", "name": fmt.Sprintf("key %03d", i),
			"fields": []map[string]any{{"key": "apiKey", "value": fmt.Sprintf("the-api-key-%03d", i)}}}}); !ok {
			t.Fatalf("create credential %d", i)
		}
	}

	// Every credential, its secret decrypted (the hint is made from it).
	readAll := func(when string) {
		t.Helper()
		seen, after := 0, any(nil)
		for {
			d, ok := p.gql(`query($ws: ID!, $after: String) { workspace(id: $ws) { credentials(first: 200, after: $after) {
				edges { node { name fields { key hint } } } pageInfo { hasNextPage endCursor } } } }`, map[string]any{"ws": ws, "after": after})
			if !ok {
				t.Fatalf("%s: the credentials do not read", when)
			}
			page := d["workspace"].(map[string]any)["credentials"].(map[string]any)
			for _, e := range page["edges"].([]any) {
				node := e.(map[string]any)["node"].(map[string]any)
				var i int
				fmt.Sscanf(node["name"].(string), "key %d", &i)
				for _, f := range node["fields"].([]any) {
					f := f.(map[string]any)
					if f["key"] != "apiKey" {
						continue
					}
					if hint, _ := f["hint"].(string); !strings.HasSuffix(fmt.Sprintf("the-api-key-%03d", i), strings.TrimLeft(hint, "•")) || hint == "" {
						t.Fatalf("%s: %s has hint %q", when, node["name"], hint)
					}
				}
				seen++
			}
			info := page["pageInfo"].(map[string]any)
			if info["hasNextPage"] != true {
				break
			}
			after = info["endCursor"]
		}
		if seen != n {
			t.Fatalf("%s: %d credentials, want %d", when, seen, n)
		}
	}
	readAll("before")

	const rotate = `mutation($ws: ID!) { rotateWorkspaceKey(workspaceId: $ws) { keyRotatedAt } }`
	interrupted := 0
	for _, after := range []time.Duration{30 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond, 1500 * time.Millisecond} {
		go p.gql(rotate, map[string]any{"ws": ws})
		time.Sleep(after)
		p.kill()
		state := rotationState(t, dataDir, ws)
		t.Logf("killed %v into a rotation: %s", after, state)
		if state != "none in progress" {
			interrupted++
		}
		p.start()
		readAll(fmt.Sprintf("after a kill %v into the rotation", after))
	}
	if interrupted == 0 {
		t.Fatal("no kill landed during a rotation")
	}
	// The restarted server finishes the interrupted rotation by itself.
	for i := 0; ; i++ {
		d, ok := p.gql(`query($ws: ID!) { workspace(id: $ws) { keyRotatedAt keyRotationStartedAt } }`, map[string]any{"ws": ws})
		if ok && d["workspace"].(map[string]any)["keyRotatedAt"] != nil && d["workspace"].(map[string]any)["keyRotationStartedAt"] == nil {
			break
		}
		if i > 300 {
			t.Fatal("the restarted server did not finish the rotation")
		}
		time.Sleep(100 * time.Millisecond)
	}
	readAll("after the rotation")
	p.kill()
	if got := rotationState(t, dataDir, ws); got != "none in progress" {
		t.Fatalf("after the rotation: %s", got)
	}
}

// rotationState opens the stopped server's database and says where its
// workspace's key rotation stands, and which keys the workspace has.
func rotationState(t *testing.T, dataDir, ws string) string {
	t.Helper()
	ctx := context.Background()
	e, err := embedded.Start(dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	key, _ := base64.StdEncoding.DecodeString(masterKeyB64)
	s, err := storage.Open(ctx, storage.Options{Embedded: e, DBName: "credkeep", MasterKey: redact.NewBytes(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	w, err := s.Workspace(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	if w.KeyRotation == nil {
		return "none in progress"
	}
	return fmt.Sprintf("in progress (sealing under the new key: %v)", w.DataKey == w.KeyRotation.To)
}
