package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"credkeep/apitoken/tokenformat"
)

const createToken = `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { secret token { id name prefix scopes persistedQueriesOnly createdAt lastUsedAt expiresAt workspace { id } } } }`
const useCredential = `mutation($id: ID!, $consumer: ConsumerInput) { useCredential(id: $id, consumer: $consumer) { credential { id useCount lastUsedAt } fields { key value } accessToken } }`

type tokenJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	LastUsedAt *string  `json:"lastUsedAt"`
	ExpiresAt  *string  `json:"expiresAt"`
	Workspace  *struct {
		ID string `json:"id"`
	} `json:"workspace"`
}

// apiToken creates an API token for the user holding jwt and returns its secret and id.
func (e *env) apiToken(jwt string, in map[string]any) (secret, id string) {
	e.t.Helper()
	var out struct {
		Secret string
		Token  tokenJSON
	}
	mustOK(e.t, e.gql(jwt, createToken, map[string]any{"in": in})).field(e.t, "createApiToken", &out)
	return out.Secret, out.Token.ID
}

func allScopes() []string {
	return []string{"CREDENTIALS_READ", "CREDENTIALS_WRITE", "CREDENTIALS_USE", "AUDIT_READ"}
}

func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)

	var created struct {
		Secret string
		Token  tokenJSON
	}
	mustOK(t, e.gql(alice, createToken, map[string]any{"in": map[string]any{"name": " bot ", "scopes": allScopes()}})).field(t, "createApiToken", &created)
	tok := created.Secret
	if !tokenformat.Valid(tok) || created.Token.Name != "bot" || created.Token.Prefix != tok[:8] || len(created.Token.Scopes) != 4 {
		t.Fatalf("created = %+v", created.Token)
	}

	// The list shows the token, never its secret.
	r := mustOK(t, e.gql(alice, `{ apiTokens { id name prefix scopes lastUsedAt } }`, nil))
	if strings.Contains(r.Body, tok) || strings.Contains(r.Body, tok[8:]) || !strings.Contains(r.Body, created.Token.ID) {
		t.Fatalf("token list: %s", r.Body)
	}
	if strings.Contains(e.logs.String(), tok) {
		t.Fatal("the token appears in the log")
	}

	// The token acts as alice.
	var v struct {
		User     struct{ ID string }
		APIToken struct{ Name string } `json:"apiToken"`
	}
	mustOK(t, e.gql(tok, `{ viewer { user { id } apiToken { name } } }`, nil)).field(t, "viewer", &v)
	if v.User.ID != "alice" || v.APIToken.Name != "bot" {
		t.Fatalf("viewer = %+v", v)
	}
	var used struct {
		Credential struct {
			ID       string
			UseCount int
		}
		Fields []struct{ Key, Value string }
	}
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": cred})).field(t, "useCredential", &used)
	got := map[string]string{}
	for _, f := range used.Fields {
		got[f.Key] = f.Value
	}
	if got["password"] != secrets[0] || got["host"] != "smtp.example.com" || got["port"] != "587" || used.Credential.UseCount != 1 {
		t.Fatalf("useCredential = %+v", used)
	}
	e.forget(secrets[0]) // released on purpose, to the token, once

	// Tokens cannot make tokens, list them or revoke them.
	wantCode(t, e.gql(tok, createToken, map[string]any{"in": map[string]any{"name": "child", "scopes": allScopes()}}), "FORBIDDEN")
	wantCode(t, e.gql(tok, `{ apiTokens { id } }`, nil), "FORBIDDEN")

	// Revoke on one instance: the very next request on another is refused.
	second := e.instance().srv
	mustOK(t, e.gqlOn(second, tok, `{ viewer { user { id } } }`, nil))
	mustOK(t, e.gql(alice, `mutation($id: ID!) { revokeApiToken(id: $id) { id deleted } }`, map[string]any{"id": created.Token.ID}))
	r = e.gqlOn(second, tok, `{ viewer { user { id } } }`, nil)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d %s", r.Status, r.Body)
	}
	wantCode(t, r, "UNAUTHENTICATED")
	wantCode(t, e.gql(alice, `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": created.Token.ID}), "NOT_FOUND")
	// Another user cannot revoke alice's tokens.
	_, other := e.apiToken(alice, map[string]any{"name": "other", "scopes": []string{"CREDENTIALS_READ"}})
	wantCode(t, e.gql(e.token("bob"), `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": other}), "NOT_FOUND")

	// The audit trail has the token's creation, use and revocation, and no secret.
	ctx := context.Background()
	for target, action := range map[string]string{created.Token.ID: "TOKEN_REVOKED", cred: "CREDENTIAL_USED"} {
		entries, err := e.db.Raw(e.t).AuditEntriesFor(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 || entries[len(entries)-1].Action != action {
			t.Fatalf("audit for %s: %+v", target, entries)
		}
	}
}

func TestTokenInputValidation(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	cases := []struct {
		in   map[string]any
		code string
	}{
		{map[string]any{"name": "", "scopes": allScopes()}, "BAD_USER_INPUT"},
		{map[string]any{"name": "x", "scopes": []string{}}, "BAD_USER_INPUT"},
		{map[string]any{"name": "x", "scopes": []string{"ROOT"}}, "BAD_USER_INPUT"},
		{map[string]any{"name": "x", "scopes": allScopes(), "expiresAt": e.clock.Now().Add(-time.Minute).Format(time.RFC3339)}, "BAD_USER_INPUT"},
		{map[string]any{"name": "x", "scopes": allScopes(), "workspaceId": "someone-elses"}, "NOT_FOUND"},
	}
	for _, c := range cases {
		wantCode(t, e.gql(alice, createToken, map[string]any{"in": c.in}), c.code)
	}
	var created struct{ Token tokenJSON }
	mustOK(t, e.gql(alice, createToken, map[string]any{"in": map[string]any{"name": "ws bot", "scopes": []string{"CREDENTIALS_READ", "CREDENTIALS_READ"}, "workspaceId": ws}})).field(t, "createApiToken", &created)
	if len(created.Token.Scopes) != 1 || created.Token.Workspace == nil || created.Token.Workspace.ID != ws {
		t.Fatalf("token = %+v", created.Token)
	}
}

func TestExpiredAndTamperedTokens(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	tok, _ := e.apiToken(alice, map[string]any{"name": "short", "scopes": allScopes(), "expiresAt": e.clock.Now().Add(time.Hour).Format(time.RFC3339)})
	mustOK(t, e.gql(tok, viewerQuery, nil))
	e.clock.Advance(61 * time.Minute)
	if r := e.gql(tok, viewerQuery, nil); r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
		t.Fatalf("expired token: %d %s", r.Status, r.Body)
	}

	// A token with a bad checksum is refused without touching the database: with
	// the database stopped, it still gets a quick 401 (a lookup would fail with 503).
	tok2, _ := e.apiToken(e.token("alice"), map[string]any{"name": "tamper", "scopes": allScopes()})
	last := tok2[len(tok2)-1]
	swap := byte('0')
	if last == '0' {
		swap = '1'
	}
	tampered := tok2[:len(tok2)-1] + string(swap)
	e.db.Embedded.Stop()
	start := time.Now()
	r := e.gql(tampered, viewerQuery, nil)
	if r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" || time.Since(start) > time.Second {
		t.Fatalf("tampered token: %d after %v: %s", r.Status, time.Since(start), r.Body)
	}
}

func TestScopeMatrix(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	ops := []struct {
		name  string
		scope string
		run   func(tok string) response
	}{
		{"read", "CREDENTIALS_READ", func(tok string) response {
			return e.gql(tok, `query($id: ID!) { credential(id: $id) { id } }`, map[string]any{"id": cred})
		}},
		{"list", "CREDENTIALS_READ", func(tok string) response { return e.gql(tok, workspacesQuery, nil) }},
		{"write", "CREDENTIALS_WRITE", func(tok string) response {
			return e.gql(tok, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id version } }`, map[string]any{"in": map[string]any{"id": cred, "name": "Mail " + tok[3:9]}})
		}},
		{"use", "CREDENTIALS_USE", func(tok string) response { return e.gql(tok, useCredential, map[string]any{"id": cred}) }},
		{"create workspace", "WORKSPACES_ADMIN", func(tok string) response {
			return e.gql(tok, createWorkspace, map[string]any{"name": "ws " + tok[3:9]})
		}},
		{"rename workspace", "WORKSPACES_ADMIN", func(tok string) response {
			return e.gql(tok, renameWorkspace, map[string]any{"id": ws, "name": "acme " + tok[3:9]})
		}},
		{"add member", "WORKSPACES_ADMIN", func(tok string) response {
			return e.gql(tok, addMember, map[string]any{"ws": ws, "user": "m-" + tok[3:9], "role": "MEMBER"})
		}},
		{"re-role an owner", "WORKSPACES_ADMIN", func(tok string) response {
			e.addMember(alice, ws, "owner-"+tok[3:9], "OWNER")
			return e.gql(tok, changeRole, map[string]any{"ws": ws, "user": "owner-" + tok[3:9], "role": "MEMBER"})
		}},
		{"remove member", "WORKSPACES_ADMIN", func(tok string) response {
			e.addMember(alice, ws, "leaver-"+tok[3:9], "MEMBER")
			return e.gql(tok, removeMember, map[string]any{"ws": ws, "user": "leaver-" + tok[3:9]})
		}},
		{"delete workspace", "WORKSPACES_ADMIN", func(tok string) response {
			doomed := e.createWorkspace(alice, "doomed "+tok[3:9])
			return e.gql(tok, `mutation($id: ID!) { deleteWorkspace(id: $id) { deleted } }`, map[string]any{"id": doomed})
		}},
	}
	for _, scope := range append(allScopes(), "WORKSPACES_ADMIN") {
		tok, _ := e.apiToken(alice, map[string]any{"name": "only " + scope, "scopes": []string{scope}})
		for _, op := range ops {
			r := op.run(tok)
			if op.scope == scope {
				mustOK(t, r)
			} else {
				wantCode(t, r, "FORBIDDEN")
			}
		}
	}
	e.forget(secrets[0])
	// A user session may not use credentials, whatever its access.
	wantCode(t, e.gql(alice, useCredential, map[string]any{"id": cred}), "FORBIDDEN")
	// The token's user still needs access: bob's token cannot use alice's credential.
	bobTok, _ := e.apiToken(e.token("bob"), map[string]any{"name": "bob", "scopes": allScopes()})
	wantCode(t, e.gql(bobTok, useCredential, map[string]any{"id": cred}), "NOT_FOUND")
}

func TestWorkspaceRestrictedToken(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws1, ws2 := e.createWorkspace(alice, "one"), e.createWorkspace(alice, "two")
	c1 := e.createCredential(alice, ws1, "smtp", "One", smtpFields(secrets[0])...)
	c2 := e.createCredential(alice, ws2, "smtp", "Two", smtpFields(secrets[0])...)
	tok, _ := e.apiToken(alice, map[string]any{"name": "ws1 only", "scopes": allScopes(), "workspaceId": ws1})

	var list []workspaceJSON
	mustOK(t, e.gql(tok, workspacesQuery, nil)).field(t, "workspaces", &list)
	if len(list) != 1 || list[0].ID != ws1 {
		t.Fatalf("workspaces = %+v", list)
	}
	if r := mustOK(t, e.gql(tok, workspaceQuery, map[string]any{"id": ws2})); string(r.Data["workspace"]) != "null" {
		t.Errorf("other workspace visible: %s", r.Body)
	}
	if r := mustOK(t, e.gql(tok, `query($id: ID!) { credential(id: $id) { id } }`, map[string]any{"id": c2})); string(r.Data["credential"]) != "null" {
		t.Errorf("other workspace's credential visible: %s", r.Body)
	}
	wantCode(t, e.gql(tok, useCredential, map[string]any{"id": c2}), "NOT_FOUND")
	wantCode(t, e.gql(tok, updateCredential, map[string]any{"in": map[string]any{"id": c2, "name": "x"}}), "NOT_FOUND")
	wantCode(t, e.gql(tok, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws2, "type": "smtp", "name": "x", "fields": smtpFields("p")}}), "NOT_FOUND")
	wantCode(t, e.gql(tok, createWorkspace, map[string]any{"name": "three"}), "FORBIDDEN")
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": c1}))
	e.forget(secrets[0])
}

func TestUsagesAndForceDelete(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	cred := e.createCredential(alice, ws, "stripe", "Stripe", field{"key": "secretKey", "value": secrets[1]})
	tok, _ := e.apiToken(alice, map[string]any{"name": "runner", "scopes": allScopes()})

	const attach = `mutation($c: ID!, $k: ConsumerKind!, $id: String!, $n: String) { attachCredential(credentialId: $c, consumer: {kind: $k, id: $id, name: $n}) { consumerKind consumerId consumerName useCount attachedAt } }`
	mustOK(t, e.gql(alice, attach, map[string]any{"c": cred, "k": "BOT", "id": "bot-1", "n": "Billing bot"}))
	mustOK(t, e.gql(alice, attach, map[string]any{"c": cred, "k": "WORKFLOW", "id": "wf-9"}))
	wantCode(t, e.gql(alice, attach, map[string]any{"c": cred, "k": "BOT", "id": " "}), "BAD_USER_INPUT")

	// Using with a consumer counts for it; a new consumer is attached on first use.
	for i := 0; i < 2; i++ {
		mustOK(t, e.gql(tok, useCredential, map[string]any{"id": cred, "consumer": map[string]any{"kind": "BOT", "id": "bot-1"}}))
	}
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": cred, "consumer": map[string]any{"kind": "FUNCTION", "id": "fn-3", "name": "refunds"}}))
	e.forget(secrets[1])
	var c struct {
		UseCount   int
		LastUsedAt *string
		Usages     []struct {
			ConsumerKind, ConsumerID string
			ConsumerName             *string
			UseCount                 int
			LastUsedAt               *string
		}
	}
	mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { useCount lastUsedAt usages { consumerKind consumerId consumerName useCount lastUsedAt } } }`, map[string]any{"id": cred})).field(t, "credential", &c)
	if c.UseCount != 3 || c.LastUsedAt == nil || len(c.Usages) != 3 {
		t.Fatalf("credential = %+v", c)
	}
	byID := map[string]int{}
	for _, u := range c.Usages {
		byID[u.ConsumerID] = u.UseCount
	}
	if byID["bot-1"] != 2 || byID["wf-9"] != 0 || byID["fn-3"] != 1 || c.Usages[0].ConsumerName == nil || *c.Usages[0].ConsumerName != "Billing bot" {
		t.Fatalf("usages = %+v", c.Usages)
	}

	// In use: deleting is refused, listing the consumers, until forced.
	r := e.gql(alice, deleteCredential, map[string]any{"id": cred})
	wantCode(t, r, "CREDENTIAL_IN_USE")
	usages, _ := r.Errors[0].Extensions["usages"].([]any)
	if len(usages) != 3 || usages[0].(map[string]any)["consumerId"] != "bot-1" {
		t.Fatalf("extensions.usages = %v", r.Errors[0].Extensions)
	}
	// Detaching all but one still refuses.
	for _, u := range []struct{ k, id string }{{"WORKFLOW", "wf-9"}, {"FUNCTION", "fn-3"}} {
		mustOK(t, e.gql(alice, `mutation($c: ID!, $k: ConsumerKind!, $id: String!) { detachCredential(credentialId: $c, consumerKind: $k, consumerId: $id) { deleted } }`, map[string]any{"c": cred, "k": u.k, "id": u.id}))
	}
	// A consumer used after its detach is attached anew, counted from that
	// use; attaching one attached already answers its uses so far.
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": cred, "consumer": map[string]any{"kind": "FUNCTION", "id": "fn-3"}}))
	mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { useCount lastUsedAt usages { consumerKind consumerId consumerName useCount lastUsedAt } } }`, map[string]any{"id": cred})).field(t, "credential", &c)
	if len(c.Usages) != 2 || c.Usages[1].ConsumerID != "fn-3" || c.Usages[1].UseCount != 1 || c.Usages[1].ConsumerName != nil {
		t.Fatalf("usages after fn-3 was detached and used again = %+v", c.Usages)
	}
	var attached struct{ UseCount int }
	mustOK(t, e.gql(alice, attach, map[string]any{"c": cred, "k": "BOT", "id": "bot-1", "n": "Billing bot"})).field(t, "attachCredential", &attached)
	if attached.UseCount != 2 {
		t.Fatalf("attaching bot-1 again answered useCount %d, want its 2 uses", attached.UseCount)
	}
	mustOK(t, e.gql(alice, `mutation($c: ID!, $k: ConsumerKind!, $id: String!) { detachCredential(credentialId: $c, consumerKind: $k, consumerId: $id) { deleted } }`, map[string]any{"c": cred, "k": "FUNCTION", "id": "fn-3"}))
	wantCode(t, e.gql(alice, `mutation($c: ID!) { detachCredential(credentialId: $c, consumerKind: BOT, consumerId: "nope") { deleted } }`, map[string]any{"c": cred}), "NOT_FOUND")
	wantCode(t, e.gql(alice, deleteCredential, map[string]any{"id": cred}), "CREDENTIAL_IN_USE")
	mustOK(t, e.gql(alice, `mutation($id: ID!) { deleteCredential(id: $id, force: true) { deleted } }`, map[string]any{"id": cred}))
	if us, err := e.store.UsagesOf(context.Background(), cred); err != nil || len(us) != 0 {
		t.Fatalf("usages after force delete: %v %v", us, err)
	}
}

func TestDefaultCredential(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws, other := e.createWorkspace(alice, "acme"), e.createWorkspace(alice, "other")
	e.addMember(alice, ws, "bob", "MEMBER")
	smtp := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	foreign := e.createCredential(alice, other, "smtp", "Mail", smtpFields(secrets[0])...)
	const set = `mutation($ws: ID!, $p: String!, $c: ID) { setDefaultCredential(workspaceId: $ws, purpose: $p, credentialId: $c) { id defaultCredential(purpose: $p) { id name } } }`
	const get = `query($ws: ID!) { workspace(id: $ws) { defaultCredential(purpose: "email") { id } } }`

	var w struct {
		DefaultCredential *struct{ ID string }
	}
	mustOK(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "email", "c": smtp})).field(t, "setDefaultCredential", &w)
	if w.DefaultCredential == nil || w.DefaultCredential.ID != smtp {
		t.Fatalf("default = %+v", w)
	}
	// Bob is a member but cannot use the (personal) credential: he sees null.
	mustOK(t, e.gql(e.token("bob"), get, map[string]any{"ws": ws})).field(t, "workspace", &w)
	if w.DefaultCredential != nil {
		t.Errorf("bob sees the default: %+v", w)
	}
	wantCode(t, e.gql(e.token("bob"), set, map[string]any{"ws": ws, "p": "email", "c": nil}), "FORBIDDEN")
	wantCode(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "email", "c": foreign}), "BAD_USER_INPUT")
	wantCode(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "Bad Purpose", "c": smtp}), "BAD_USER_INPUT")
	wantCode(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "email", "c": "nope"}), "NOT_FOUND")
	// Clearing.
	mustOK(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "email", "c": nil})).field(t, "setDefaultCredential", &w)
	if w.DefaultCredential != nil {
		t.Fatalf("default not cleared: %+v", w)
	}
}

func TestRateLimitAcrossInstances(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.rateLimit = 3 })
	second := e.instance().srv
	tok, _ := e.apiToken(e.token("alice"), map[string]any{"name": "limited", "scopes": allScopes()})
	var statuses []int
	for i := 0; i < 6; i++ {
		srv := e.srv
		if i%2 == 1 {
			srv = second
		}
		r := e.gqlOn(srv, tok, viewerQuery, nil)
		statuses = append(statuses, r.Status)
		if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Reset") == "" || r.Header.Get("X-RateLimit-Remaining") == "" {
			t.Fatalf("request %d: headers %v", i, r.Header)
		}
		if r.Status == http.StatusTooManyRequests {
			wantCode(t, r, "RATE_LIMITED")
			if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
				t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
		}
	}
	want := []int{200, 200, 200, 429, 429, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", statuses, want)
		}
	}
	// User sessions are not limited by token limits.
	mustOK(t, e.gql(e.token("alice"), viewerQuery, nil))
	// A new hour starts a new window.
	e.clock.Advance(time.Hour)
	tok2 := tok
	if r := e.gqlOn(second, tok2, viewerQuery, nil); r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("next window: %d remaining %s", r.Status, r.Header.Get("X-RateLimit-Remaining"))
	}
}

func TestLastUsedAtIsCoalesced(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	tok, _ := e.apiToken(alice, map[string]any{"name": "t", "scopes": allScopes()})
	lastUsed := func() string {
		var ts []tokenJSON
		mustOK(t, e.gql(e.token("alice"), `{ apiTokens { id lastUsedAt } }`, nil)).field(t, "apiTokens", &ts)
		if ts[0].LastUsedAt == nil {
			return ""
		}
		return *ts[0].LastUsedAt
	}
	if lastUsed() != "" {
		t.Fatal("unused token has lastUsedAt")
	}
	mustOK(t, e.gql(tok, viewerQuery, nil))
	first := lastUsed()
	if first == "" {
		t.Fatal("lastUsedAt not set by the first request")
	}
	e.clock.Advance(30 * time.Second)
	mustOK(t, e.gql(tok, viewerQuery, nil))
	if lastUsed() != first {
		t.Fatal("lastUsedAt written twice within a minute")
	}
	e.clock.Advance(31 * time.Second)
	mustOK(t, e.gql(tok, viewerQuery, nil))
	if lastUsed() == first {
		t.Fatal("lastUsedAt not refreshed after a minute")
	}
}
