package app_test

import (
	"fmt"
	"strings"
	"testing"
)

// useCredential answers an id the caller cannot see exactly as an unknown id.
func TestUseCredentialDoesNotRevealExistence(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	ws := e.createWorkspace(alice, "probe")
	other := e.createWorkspace(bob, "other")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	const unknown = "01930000-0000-7000-8000-000000000000"
	aliceNoUse, _ := e.apiToken(alice, map[string]any{"name": "read", "scopes": []string{"CREDENTIALS_READ"}})
	bobUse, _ := e.apiToken(bob, map[string]any{"name": "use", "scopes": allScopes()})
	aliceElsewhere, _ := e.apiToken(alice, map[string]any{"name": "elsewhere", "scopes": allScopes(), "workspaceId": e.createWorkspace(alice, "third")})
	_ = other
	callers := map[string]string{
		"a user session":                          bob,
		"the owner's user session":                alice,
		"a token without CREDENTIALS_USE":         aliceNoUse,
		"a token of a non-member":                 bobUse,
		"a token restricted to another workspace": aliceElsewhere,
	}
	for name, tok := range callers {
		t.Run(name, func(t *testing.T) {
			known := e.gql(tok, useCredential, map[string]any{"id": cred})
			absent := e.gql(tok, useCredential, map[string]any{"id": unknown})
			if len(known.Errors) != 1 || len(absent.Errors) != 1 {
				t.Fatalf("errors: %s / %s", known.Body, absent.Body)
			}
			if known.code() != absent.code() {
				t.Errorf("code %s for an existing id, %s for an unknown one", known.code(), absent.code())
			}
			if known.Errors[0].Message != absent.Errors[0].Message {
				t.Errorf("message %q for an existing id, %q for an unknown one", known.Errors[0].Message, absent.Errors[0].Message)
			}
		})
	}
}

// Consumers are the managers' record: a USE grantee attaches new ones, but
// renaming or detaching one needs MANAGE.
func TestConsumersNeedManageToChange(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "consumers")
	e.addMember(alice, ws, "bob", "MEMBER")
	bob := e.token("bob")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "USE"}}))
	const attach = `mutation($c: ID!, $id: String!, $n: String) { attachCredential(credentialId: $c, consumer: {kind: BOT, id: $id, name: $n}) { consumerName } }`
	const detach = `mutation($c: ID!, $id: String!) { detachCredential(credentialId: $c, consumerKind: BOT, consumerId: $id) { deleted } }`
	mustOK(t, e.gql(alice, attach, map[string]any{"c": cred, "id": "billing", "n": "Billing bot"}))
	mustOK(t, e.gql(bob, attach, map[string]any{"c": cred, "id": "bobs-bot", "n": "Bob's bot"}))  // a new one: USE suffices
	mustOK(t, e.gql(bob, attach, map[string]any{"c": cred, "id": "billing", "n": "Billing bot"})) // same name: no change
	wantCode(t, e.gql(bob, attach, map[string]any{"c": cred, "id": "billing", "n": "Pwned"}), "FORBIDDEN")
	wantCode(t, e.gql(bob, detach, map[string]any{"c": cred, "id": "billing"}), "FORBIDDEN")
	// Through useCredential: a USE token's consumer name does not rename.
	bobTok, _ := e.apiToken(bob, map[string]any{"name": "bob", "scopes": allScopes()})
	mustOK(t, e.gql(bobTok, `mutation($id: ID!) { useCredential(id: $id, consumer: {kind: BOT, id: "billing", name: "Renamed by use"}) { fields { key } } }`, map[string]any{"id": cred}))
	var got struct {
		Usages []struct{ ConsumerID, ConsumerName string }
	}
	mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { usages { consumerId consumerName } } }`, map[string]any{"id": cred})).field(t, "credential", &got)
	names := map[string]string{}
	for _, u := range got.Usages {
		names[u.ConsumerID] = u.ConsumerName
	}
	if names["billing"] != "Billing bot" || names["bobs-bot"] != "Bob's bot" {
		t.Errorf("consumers after a USE grantee's attempts: %v", names)
	}
	// The manager may.
	mustOK(t, e.gql(alice, attach, map[string]any{"c": cred, "id": "billing", "n": "Billing bot v2"}))
	mustOK(t, e.gql(alice, detach, map[string]any{"c": cred, "id": "bobs-bot"}))
}

// A purpose is [a-z][a-z0-9_-]{0,63}: a dot would corrupt the workspace's defaults.
func TestPurposeShape(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "defaults")
	smtp := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	const set = `mutation($ws: ID!, $p: String!, $c: ID) { setDefaultCredential(workspaceId: $ws, purpose: $p, credentialId: $c) { id } }`
	for _, p := range []string{"a.b", "email.", "$set", "Email", "1mail", "", "a b", "é", string(make([]byte, 65))} {
		r := e.gql(alice, set, map[string]any{"ws": ws, "p": p, "c": smtp})
		wantCode(t, r, "BAD_USER_INPUT")
		if r.Errors[0].Extensions["field"] != "purpose" {
			t.Errorf("purpose %q: field %v", p, r.Errors[0].Extensions["field"])
		}
	}
	mustOK(t, e.gql(alice, set, map[string]any{"ws": ws, "p": "e-mail_2", "c": smtp}))
	var w struct{ DefaultCredential *struct{ ID string } }
	mustOK(t, e.gql(alice, `query($ws: ID!) { workspace(id: $ws) { defaultCredential(purpose: "e-mail_2") { id } } }`, map[string]any{"ws": ws})).field(t, "workspace", &w)
	if w.DefaultCredential == nil || w.DefaultCredential.ID != smtp {
		t.Errorf("default after refused purposes: %+v", w.DefaultCredential)
	}
}

// Every service checks workspaces the same way: non-members get NOT_FOUND and
// their attempts on an existing workspace are on record, like members' refusals.
func TestWorkspaceRefusalsAreRecordedEverywhere(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "recorded")
	e.addMember(alice, ws, "bob", "MEMBER")
	attempts := map[string]func(tok string) response{
		"create credential": func(tok string) response {
			return e.gql(tok, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": "x", "fields": []any{}}})
		},
		"list credentials": func(tok string) response { return e.gql(tok, listCredentials, map[string]any{"ws": ws}) },
		"set default": func(tok string) response {
			return e.gql(tok, `mutation($ws: ID!) { setDefaultCredential(workspaceId: $ws, purpose: "email") { id } }`, map[string]any{"ws": ws})
		},
		"restricted token": func(tok string) response {
			return e.gql(tok, createToken, map[string]any{"in": map[string]any{"name": "t", "scopes": allScopes(), "workspaceId": ws}})
		},
	}
	i := 0
	for name, try := range attempts {
		outsider := fmt.Sprintf("outsider-%d", i)
		i++
		r := try(e.token(outsider))
		if name == "list credentials" {
			if !strings.Contains(r.Body, `"workspace":null`) {
				t.Errorf("%s by an outsider: %s", name, r.Body)
			}
		} else {
			wantCode(t, r, "NOT_FOUND")
		}
	}
	wantCode(t, attempts["set default"](e.token("bob")), "FORBIDDEN")
	denied := map[string]int{}
	for _, a := range e.auditLog(alice, ws, map[string]any{"action": "ACCESS_DENIED"}) {
		denied[a.Actor.User.ID]++
	}
	for j := 0; j < len(attempts); j++ {
		if denied[fmt.Sprintf("outsider-%d", j)] != 1 {
			t.Errorf("outsider-%d: %d entries, want 1 (%v)", j, denied[fmt.Sprintf("outsider-%d", j)], denied)
		}
	}
	if denied["bob"] != 1 {
		t.Errorf("the member's refused default: %d entries", denied["bob"])
	}
}
