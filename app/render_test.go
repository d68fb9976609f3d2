package app_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"credkeep/authn"
)

// TestKeptRenderingsFollowTheViewer: credentials (in a page, or one by id) are
// rendered once per version and kept (gqlexec.Schema.Render), so the same
// query by different people in turn is where a kept rendering could show one
// of them what was made for another. Each sees their own access: the owner
// and a VIEW grantee the fields, a USE grantee a FORBIDDEN error in their
// place; the owner's new e-mail shows at once; and the status, which moves
// with the clock, changes when the credential expires.
func TestKeptRenderingsFollowTheViewer(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.token("alice"), e.token("bob"), e.token("carol")
	ws := e.createWorkspace(alice, "renderings")
	e.addMember(alice, ws, "bob", "MEMBER")
	e.addMember(alice, ws, "carol", "MEMBER")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	for user, level := range map[string]string{"bob": "USE", "carol": "VIEW"} {
		mustOK(t, e.gql(alice, `mutation($id: ID!, $u: ID!, $l: AccessLevel!) { shareCredential(input: {credentialId: $id, granteeKind: USER, userId: $u, level: $l}) { id } }`,
			map[string]any{"id": cred, "u": user, "l": level}))
	}

	// One query text throughout: the server parses it once and its kept
	// renderings are filed under that parse.
	const page = `query($ws: ID!) { workspace(id: $ws) { credentials(first: 50) { edges { node {
		id name viewerAccess owner { id email } fields { key isSet hint } } } } } }`
	type nodeJSON struct {
		ViewerAccess string
		Owner        struct{ Email string }
		Fields       []struct {
			Key  string
			Hint *string
		}
	}
	type seen struct {
		Access string
		Owner  string
		Hint   string
		Error  string // the error's code and path, if any
	}
	seenIn := func(n nodeJSON, r response) seen {
		s := seen{Access: n.ViewerAccess, Owner: n.Owner.Email}
		for _, f := range n.Fields {
			if f.Key == "password" && f.Hint != nil {
				s.Hint = *f.Hint
			}
		}
		if len(r.Errors) > 0 {
			s.Error = fmt.Sprint(r.code(), r.Errors[0].Path)
		}
		return s
	}
	list := func(token string) seen {
		t.Helper()
		r := e.gql(token, page, map[string]any{"ws": ws})
		var w struct {
			Credentials struct{ Edges []struct{ Node nodeJSON } }
		}
		r.field(t, "workspace", &w)
		if len(w.Credentials.Edges) != 1 {
			t.Fatalf("%d credentials listed: %s", len(w.Credentials.Edges), r.Body)
		}
		return seenIn(w.Credentials.Edges[0].Node, r)
	}
	// The same fields of credential(id), which keeps its renderings too.
	const one = `query($id: ID!) { credential(id: $id) { id name viewerAccess owner { id email } fields { key isSet hint } } }`
	single := func(token string) seen {
		t.Helper()
		r := e.gql(token, one, map[string]any{"id": cred})
		var n nodeJSON
		r.field(t, "credential", &n)
		return seenIn(n, r)
	}
	fields := fmt.Sprint("FORBIDDEN", []any{"workspace", "credentials", "edges", 0, "node", "fields"})
	singleFields := fmt.Sprint("FORBIDDEN", []any{"credential", "fields"})
	want := map[string]seen{
		alice: {Access: "MANAGE", Owner: "alice@example.com", Hint: "••••4242"},
		bob:   {Access: "USE", Owner: "alice@example.com", Error: fields},
		carol: {Access: "VIEW", Owner: "alice@example.com", Hint: "••••4242"},
	}
	names := map[string]string{alice: "alice", bob: "bob", carol: "carol"}
	for round := range 3 {
		for _, token := range []string{alice, bob, carol, bob, alice} {
			if diff := cmp.Diff(want[token], list(token)); diff != "" {
				t.Fatalf("round %d, %s (-want +got):\n%s", round, names[token], diff)
			}
			w := want[token]
			if w.Error != "" {
				w.Error = singleFields
			}
			if diff := cmp.Diff(w, single(token)); diff != "" {
				t.Fatalf("round %d, credential(id) for %s (-want +got):\n%s", round, names[token], diff)
			}
		}
	}

	// Alice signs in with a new e-mail (each JWT's claims are recorded, so
	// her earlier token would record the old one again): everyone's next page
	// shows it.
	renamed := e.token("alice", func(o *authn.MintOptions) { o.Email = "alice@new.example" })
	mustOK(t, e.gql(renamed, `{ viewer { user { email } } }`, nil))
	want[renamed], names[renamed] = want[alice], "alice"
	for _, token := range []string{carol, renamed, bob} {
		w := want[token]
		w.Owner = "alice@new.example"
		if diff := cmp.Diff(w, list(token)); diff != "" {
			t.Fatalf("after alice's new e-mail, %s (-want +got):\n%s", names[token], diff)
		}
		if w.Error != "" {
			w.Error = singleFields
		}
		if diff := cmp.Diff(w, single(token)); diff != "" {
			t.Fatalf("after alice's new e-mail, credential(id) for %s (-want +got):\n%s", names[token], diff)
		}
	}

	// The status moves with the clock, with no new version: a page that
	// selects it is rendered afresh.
	expires := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	mustOK(t, e.gql(renamed, `mutation($id: ID!, $at: Time) { updateCredential(input: {id: $id, expiresAt: $at}) { id } }`,
		map[string]any{"id": cred, "at": expires}))
	const statusPage = `query($ws: ID!) { workspace(id: $ws) { credentials(first: 50) { edges { node { id name status } } } } }`
	status := func(carol string) string {
		t.Helper()
		var w struct {
			Credentials struct {
				Edges []struct{ Node struct{ Status string } }
			}
		}
		mustOK(t, e.gql(carol, statusPage, map[string]any{"ws": ws})).field(t, "workspace", &w)
		raw, _ := json.Marshal(w)
		if len(w.Credentials.Edges) != 1 {
			t.Fatalf("listed: %s", raw)
		}
		return w.Credentials.Edges[0].Node.Status
	}
	for range 2 {
		if got := status(carol); got != "ACTIVE" {
			t.Fatalf("status before expiry: %s", got)
		}
	}
	e.clock.Advance(2 * time.Hour)
	if got := status(e.token("carol")); got != "EXPIRED" {
		t.Fatalf("status after expiry: %s, want EXPIRED", got)
	}
}
