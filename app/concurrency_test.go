package app_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentUpdatesShareAndUse runs writers on two instances against the
// same credentials: optimistic updates (expectedVersion), shares and unshares,
// and uses. No update is lost, every refusal is a CONFLICT, and the audit chain
// stays gapless and valid.
func TestConcurrentUpdatesShareAndUse(t *testing.T) {
	e := newEnv(t)
	secondInstance := e.instance()
	second := secondInstance.srv
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "contended")
	e.addMember(alice, ws, "bob", "MEMBER")
	cred := e.createCredential(alice, ws, "smtp", "Shared", smtpFields(secrets[0])...)
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})

	const writers, rounds = 6, 5
	var updated, conflicts atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := e.srv
			if w%2 == 1 {
				srv = second
			}
			for i := 0; i < rounds; i++ {
				var c struct{ Version int }
				r := e.gqlOn(srv, alice, `query($id: ID!) { credential(id: $id) { version } }`, map[string]any{"id": cred})
				if len(r.Errors) > 0 {
					t.Errorf("read: %s", r.Body)
					return
				}
				r.field(t, "credential", &c)
				r = e.gqlOn(srv, alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { version } }`,
					map[string]any{"in": map[string]any{"id": cred, "expectedVersion": c.Version, "fields": []field{{"key": "username", "value": fmt.Sprintf("w%d-%d", w, i)}}}})
				switch r.code() {
				case "":
					updated.Add(1)
				case "CONFLICT":
					conflicts.Add(1)
				default:
					t.Errorf("update: %s", r.Body)
				}
				// Share and unshare, and use, in between.
				var s struct{ Grants []grantJSON }
				r = e.gqlOn(srv, alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "USE"}})
				if len(r.Errors) == 0 {
					r.field(t, "shareCredential", &s)
					for _, g := range s.Grants {
						_ = e.gqlOn(srv, alice, unshareCredential, map[string]any{"c": cred, "g": g.ID})
					}
				} else {
					t.Errorf("share: %s", r.Body)
				}
				if r := e.gqlOn(srv, bot, `mutation($id: ID!) { useCredential(id: $id) { credential { id } } }`, map[string]any{"id": cred}); len(r.Errors) > 0 {
					t.Errorf("use: %s", r.Body)
				}
			}
		}()
	}
	wg.Wait()
	e.forget(secrets[0])
	// Use counts are coalesced: this instance shows its own at once, the other
	// instance's after its next flush (at most half a second); flush it now.
	if err := secondInstance.uses.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version  int
		UseCount int
	}
	mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { version useCount } }`, map[string]any{"id": cred})).field(t, "credential", &c)
	if int64(c.Version) != 1+updated.Load() {
		t.Fatalf("version %d after %d successful updates: an update was lost", c.Version, updated.Load())
	}
	if c.UseCount != writers*rounds {
		t.Fatalf("useCount %d, want %d: a use was not counted", c.UseCount, writers*rounds)
	}
	if updated.Load() == 0 || updated.Load()+conflicts.Load() != writers*rounds {
		t.Fatalf("updated %d, conflicts %d", updated.Load(), conflicts.Load())
	}
	v := e.verifyAudit(alice, ws)
	if !v.OK {
		t.Fatalf("audit chain: %+v", v)
	}
	t.Logf("%d updates, %d conflicts, %d uses, %d audit entries", updated.Load(), conflicts.Load(), c.UseCount, v.Checked)
}
