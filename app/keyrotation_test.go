package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRotateWorkspaceKey rotates a workspace's data key while an API token
// keeps using its credentials and a person keeps changing some of their
// secrets: no use fails, afterwards the old key is gone, and a second
// instance (nothing cached) reads every secret as last written. Only an
// OWNER may rotate, and the rotation is on the audit record.
func TestRotateWorkspaceKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "rotation")
	e.addMember(alice, ws, "bob", "ADMIN")
	const n = 40
	ids := make([]string, n)
	want := map[string]string{}
	var wantMu sync.Mutex
	for i := range ids {
		ids[i] = e.createCredential(alice, ws, "api_key", fmt.Sprintf("Key %02d", i),
			field{"key": "apiKey", "value": fmt.Sprintf("rotation-secret-%02d", i)})
		want[ids[i]] = fmt.Sprintf("rotation-secret-%02d", i)
	}
	user, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": []string{"CREDENTIALS_USE"}, "workspaceId": ws})
	narrow, _ := e.apiToken(alice, map[string]any{"name": "no admin", "scopes": allScopes(), "workspaceId": ws})

	const rotate = `mutation($ws: ID!) { rotateWorkspaceKey(workspaceId: $ws) { id keyRotatedAt } }`
	for who, tok := range map[string]string{"an ADMIN": e.token("bob"), "a token without WORKSPACES_ADMIN": narrow} {
		if r := e.gql(tok, rotate, map[string]any{"ws": ws}); r.code() != "FORBIDDEN" {
			t.Errorf("%s rotated the key: %s", who, r.Body)
		}
	}
	if r := e.gql(e.token("mallory"), rotate, map[string]any{"ws": ws}); r.code() != "NOT_FOUND" {
		t.Errorf("a stranger: %s", r.Body)
	}

	// Uses and updates while the rotation runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var uses, failed atomic.Int64
	var firstFailure atomic.Value
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[i%n]
				var out struct {
					Fields []struct{ Key, Value string }
				}
				r := e.gql(user, `mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": id})
				if r.Status != http.StatusOK || len(r.Errors) > 0 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, r.Body)
					continue
				}
				r.field(t, "useCredential", &out)
				if v := apiKeyOf(out.Fields); !strings.HasPrefix(v, "rotation-secret-") && !strings.HasPrefix(v, "changed-") {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, "a use returned no apiKey or another value")
				}
				uses.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, v := ids[i%5], fmt.Sprintf("changed-%d", i)
			wantMu.Lock()
			r := e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { version } }`,
				map[string]any{"in": map[string]any{"id": id, "fields": []field{{"key": "apiKey", "value": v}}}})
			if r.Status == http.StatusOK && len(r.Errors) == 0 {
				want[id] = v
			} else {
				t.Errorf("an update during the rotation failed: %s", r.Body)
			}
			wantMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()

	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	var rotated struct {
		ID           string
		KeyRotatedAt *string
	}
	mustOK(t, e.gql(alice, rotate, map[string]any{"ws": ws})).field(t, "rotateWorkspaceKey", &rotated)
	took := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("rotation of %d credentials: %v; %d uses meanwhile", n, took.Round(time.Millisecond), uses.Load())
	if rotated.KeyRotatedAt == nil {
		t.Fatal("keyRotatedAt is null after a rotation")
	}
	if failed.Load() > 0 || uses.Load() == 0 {
		t.Fatalf("%d of %d uses failed during the rotation; first: %v", failed.Load(), uses.Load(), firstFailure.Load())
	}
	if ok, err := e.db.Raw(t).HasDataKey(ctx, ws); err != nil || ok {
		t.Fatalf("the workspace's first data key is still there (%v)", err)
	}

	// A second instance, nothing cached, reads every secret as last written.
	other := e.instance()
	for _, id := range ids {
		var out struct {
			Fields []struct{ Key, Value string }
		}
		mustOK(t, e.gqlOn(other.srv, user, `mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": id})).
			field(t, "useCredential", &out)
		if apiKeyOf(out.Fields) != want[id] {
			t.Fatalf("after the rotation %s does not read its last value", id)
		}
	}

	// On the record, and the chain holds.
	var log struct {
		Workspace struct {
			AuditLog struct {
				Edges []struct {
					Node struct{ Action, Outcome string }
				}
			}
		}
	}
	mustOK(t, e.gql(alice, `query($ws: ID!) { workspace(id: $ws) { keyRotatedAt auditLog(filter: {action: WORKSPACE_KEY_ROTATED}) { edges { node { action outcome } } } } }`,
		map[string]any{"ws": ws})).field(t, "workspace", &log.Workspace)
	if got := log.Workspace.AuditLog.Edges; len(got) != 1 || got[0].Node.Outcome != "SUCCESS" {
		t.Fatalf("WORKSPACE_KEY_ROTATED entries: %+v", got)
	}
	var v struct{ OK bool }
	mustOK(t, e.gql(alice, `mutation($ws: ID!) { verifyAuditLog(workspaceId: $ws) { ok } }`, map[string]any{"ws": ws})).field(t, "verifyAuditLog", &v)
	if !v.OK {
		t.Fatal("the audit chain does not verify after the rotation")
	}

	// A second rotation starts from the rotated key.
	e.clock.Advance(time.Minute)
	var again struct{ KeyRotatedAt *string }
	mustOK(t, e.gql(alice, rotate, map[string]any{"ws": ws})).field(t, "rotateWorkspaceKey", &again)
	if again.KeyRotatedAt == nil || *again.KeyRotatedAt == *rotated.KeyRotatedAt {
		t.Fatalf("second rotation: keyRotatedAt %v after %v", again.KeyRotatedAt, *rotated.KeyRotatedAt)
	}
}

func apiKeyOf(fields []struct{ Key, Value string }) string {
	for _, f := range fields {
		if f.Key == "apiKey" {
			return f.Value
		}
	}
	return ""
}
