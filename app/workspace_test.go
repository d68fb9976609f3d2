package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"credkeep/storage"
)

const (
	workspaceQuery  = `query($id: ID!) { workspace(id: $id) { id name viewerRole members { user { id email } role } } }`
	workspacesQuery = `{ workspaces { id name viewerRole } }`
	renameWorkspace = `mutation($id: ID!, $name: String!) { renameWorkspace(id: $id, name: $name) { id name } }`
	deleteWorkspace = `mutation($id: ID!) { deleteWorkspace(id: $id) { id deleted } }`
	changeRole      = `mutation($ws: ID!, $user: ID!, $role: WorkspaceRole!) { changeMemberRole(workspaceId: $ws, userId: $user, role: $role) { user { id } role } }`
	removeMember    = `mutation($ws: ID!, $user: ID!) { removeMember(workspaceId: $ws, userId: $user) { id deleted } }`
)

func TestCreateAndReadWorkspace(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	var w workspaceJSON
	mustOK(t, e.gql(alice, createWorkspace, map[string]any{"name": "  Acme Ops  "})).field(t, "createWorkspace", &w)
	if w.Name != "Acme Ops" || w.ViewerRole != "OWNER" || w.ID == "" || w.CreatedAt == "" {
		t.Fatalf("created = %+v", w)
	}
	ok, err := e.db.Raw(e.t).HasDataKey(context.Background(), w.ID)
	if err != nil || !ok {
		t.Fatalf("workspace has no data key: %v %v", ok, err)
	}

	var got *workspaceJSON
	mustOK(t, e.gql(alice, workspaceQuery, map[string]any{"id": w.ID})).field(t, "workspace", &got)
	if got == nil || got.Name != "Acme Ops" || len(got.Members) != 1 || got.Members[0].User.ID != "alice" ||
		got.Members[0].Role != "OWNER" || got.Members[0].User.Email == nil || *got.Members[0].User.Email != "alice@example.com" {
		t.Fatalf("workspace = %+v", got)
	}

	// A non-member, and an unknown id, read as null without an error.
	for _, id := range []string{w.ID, "no-such-workspace"} {
		r := mustOK(t, e.gql(e.token("mallory"), workspaceQuery, map[string]any{"id": id}))
		if string(r.Data["workspace"]) != "null" {
			t.Errorf("workspace(%s) for a non-member = %s", id, r.Data["workspace"])
		}
	}
	// Anonymous: UNAUTHENTICATED.
	wantCode(t, e.gql("", workspaceQuery, map[string]any{"id": w.ID}), "UNAUTHENTICATED")
}

func TestWorkspaceListIsSortedAndIsolated(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	for _, n := range []string{"zeta", "Alpha", "mid"} {
		e.createWorkspace(alice, n)
	}
	bobs := e.createWorkspace(bob, "bob's")
	var list []workspaceJSON
	mustOK(t, e.gql(alice, workspacesQuery, nil)).field(t, "workspaces", &list)
	var names []string
	for _, w := range list {
		names = append(names, w.Name)
		if w.ID == bobs {
			t.Error("alice sees bob's workspace")
		}
	}
	if strings.Join(names, ",") != "Alpha,mid,zeta" {
		t.Errorf("names = %v", names)
	}
	e.addMember(bob, bobs, "alice", "MEMBER")
	mustOK(t, e.gql(alice, workspacesQuery, nil)).field(t, "workspaces", &list)
	if len(list) != 4 {
		t.Fatalf("after joining: %+v", list)
	}
	for _, w := range list {
		if w.ID == bobs && w.ViewerRole != "MEMBER" {
			t.Errorf("role in bob's workspace = %s", w.ViewerRole)
		}
	}
}

func TestWorkspaceNameValidation(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "ok")
	cases := []struct {
		name string
		ok   bool
	}{
		{"", false},
		{"   ", false},
		{strings.Repeat("n", 101), false},
		{strings.Repeat("ü", 101), false},
		{strings.Repeat("n", 100), true},
		{strings.Repeat("ü", 100), true}, // characters, not bytes
		{"  padded  ", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			for _, r := range []response{
				e.gql(alice, createWorkspace, map[string]any{"name": tc.name}),
				e.gql(alice, renameWorkspace, map[string]any{"id": ws, "name": tc.name}),
			} {
				if tc.ok {
					mustOK(t, r)
					continue
				}
				wantCode(t, r, "BAD_USER_INPUT")
				if r.Errors[0].Extensions["field"] != "name" {
					t.Errorf("extensions.field = %v", r.Errors[0].Extensions["field"])
				}
			}
		})
	}
	var w workspaceJSON
	mustOK(t, e.gql(alice, renameWorkspace, map[string]any{"id": ws, "name": " New name "})).field(t, "renameWorkspace", &w)
	if w.Name != "New name" {
		t.Errorf("renamed to %q", w.Name)
	}
}

// TestRoleMatrix runs every workspace operation as every kind of actor.
func TestRoleMatrix(t *testing.T) {
	type op struct {
		name  string
		query string
		vars  func(ws string) map[string]any
	}
	ops := []op{
		{"read", workspaceQuery, func(ws string) map[string]any { return map[string]any{"id": ws} }},
		{"rename", renameWorkspace, func(ws string) map[string]any { return map[string]any{"id": ws, "name": "renamed"} }},
		{"add member", addMember, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "newbie", "role": "MEMBER"} }},
		{"add owner", addMember, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "newowner", "role": "OWNER"} }},
		{"promote member to admin", changeRole, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "target", "role": "ADMIN"} }},
		{"demote the co-owner", changeRole, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "coowner", "role": "MEMBER"} }},
		{"remove a member", removeMember, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "target"} }},
		{"remove the co-owner", removeMember, func(ws string) map[string]any { return map[string]any{"ws": ws, "user": "coowner"} }},
		{"delete", deleteWorkspace, func(ws string) map[string]any { return map[string]any{"id": ws} }},
	}
	// want[actor][op]: "" is success.
	want := map[string]map[string]string{
		"owner": {},
		"admin": {
			"add owner": "FORBIDDEN", "demote the co-owner": "FORBIDDEN", "remove the co-owner": "FORBIDDEN", "delete": "FORBIDDEN",
		},
		"member": {
			"rename": "FORBIDDEN", "add member": "FORBIDDEN", "add owner": "FORBIDDEN", "promote member to admin": "FORBIDDEN",
			"demote the co-owner": "FORBIDDEN", "remove a member": "FORBIDDEN", "remove the co-owner": "FORBIDDEN", "delete": "FORBIDDEN",
		},
		"outsider": {
			"read": "null", "rename": "NOT_FOUND", "add member": "NOT_FOUND", "add owner": "NOT_FOUND", "promote member to admin": "NOT_FOUND",
			"demote the co-owner": "NOT_FOUND", "remove a member": "NOT_FOUND", "remove the co-owner": "NOT_FOUND", "delete": "NOT_FOUND",
		},
	}
	e := newEnv(t)
	for _, actor := range []string{"owner", "admin", "member", "outsider"} {
		for _, o := range ops {
			t.Run(actor+"/"+o.name, func(t *testing.T) {
				// A fresh workspace per case: owner, co-owner, admin, member, target.
				owner := e.token("owner")
				ws := e.createWorkspace(owner, "matrix")
				e.addMember(owner, ws, "coowner", "OWNER")
				e.addMember(owner, ws, "admin", "ADMIN")
				e.addMember(owner, ws, "member", "MEMBER")
				e.addMember(owner, ws, "target", "MEMBER")

				r := e.gql(e.token(actor), o.query, o.vars(ws))
				switch expected := want[actor][o.name]; expected {
				case "":
					mustOK(t, r)
				case "null":
					mustOK(t, r)
					for _, v := range r.Data {
						if string(v) != "null" {
							t.Errorf("want null, got %s", v)
						}
					}
				default:
					wantCode(t, r, expected)
				}
			})
		}
	}
}

func TestMembership(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "team")

	e.addMember(alice, ws, "bob", "MEMBER")
	wantCode(t, e.gql(alice, addMember, map[string]any{"ws": ws, "user": "bob", "role": "ADMIN"}), "CONFLICT")
	r := e.gql(alice, addMember, map[string]any{"ws": ws, "user": "  ", "role": "MEMBER"})
	wantCode(t, r, "BAD_USER_INPUT")
	if r.Errors[0].Extensions["field"] != "userId" {
		t.Errorf("field = %v", r.Errors[0].Extensions["field"])
	}
	wantCode(t, e.gql(alice, addMember, map[string]any{"ws": ws, "user": "x", "role": "KING"}), "BAD_USER_INPUT")
	wantCode(t, e.gql(alice, changeRole, map[string]any{"ws": ws, "user": "nobody", "role": "ADMIN"}), "NOT_FOUND")
	wantCode(t, e.gql(alice, removeMember, map[string]any{"ws": ws, "user": "nobody"}), "NOT_FOUND")
	wantCode(t, e.gql(alice, addMember, map[string]any{"ws": "unknown-ws", "user": "carol", "role": "MEMBER"}), "NOT_FOUND")

	// Bob, added before he ever signed in, gets his email when he does.
	var w workspaceJSON
	mustOK(t, e.gql(e.token("bob"), workspaceQuery, map[string]any{"id": ws})).field(t, "workspace", &w)
	if w.ViewerRole != "MEMBER" || len(w.Members) != 2 || w.Members[1].User.Email == nil {
		t.Fatalf("bob's view: %+v", w)
	}

	// A member may leave on their own.
	mustOK(t, e.gql(e.token("bob"), removeMember, map[string]any{"ws": ws, "user": "bob"}))
	if r := mustOK(t, e.gql(e.token("bob"), workspaceQuery, map[string]any{"id": ws})); string(r.Data["workspace"]) != "null" {
		t.Errorf("bob still sees the workspace after leaving: %s", r.Body)
	}
}

func TestLastOwnerIsKept(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "solo")
	wantCode(t, e.gql(alice, changeRole, map[string]any{"ws": ws, "user": "alice", "role": "ADMIN"}), "CONFLICT")
	wantCode(t, e.gql(alice, removeMember, map[string]any{"ws": ws, "user": "alice"}), "CONFLICT")

	// With a second owner, one may step down; then the other is the last again.
	e.addMember(alice, ws, "bob", "OWNER")
	mustOK(t, e.gql(alice, changeRole, map[string]any{"ws": ws, "user": "alice", "role": "ADMIN"}))
	bob := e.token("bob")
	wantCode(t, e.gql(bob, removeMember, map[string]any{"ws": ws, "user": "bob"}), "CONFLICT")
	// Promote alice back, and bob may leave.
	mustOK(t, e.gql(bob, changeRole, map[string]any{"ws": ws, "user": "alice", "role": "OWNER"}))
	mustOK(t, e.gql(bob, removeMember, map[string]any{"ws": ws, "user": "bob"}))
	var w workspaceJSON
	mustOK(t, e.gql(alice, workspaceQuery, map[string]any{"id": ws})).field(t, "workspace", &w)
	if len(w.Members) != 1 || w.Members[0].Role != "OWNER" {
		t.Fatalf("members: %+v", w.Members)
	}
}

// TestOwnersStepDownConcurrently has two owners demote themselves at the same
// moment through two server instances, many times: one may succeed, never both.
func TestOwnersStepDownConcurrently(t *testing.T) {
	e := newEnv(t)
	second := e.instance().srv
	servers := []string{"a", "b"}
	for round := 0; round < 15; round++ {
		a := e.token("a")
		ws := e.createWorkspace(a, fmt.Sprintf("race %d", round))
		e.addMember(a, ws, "b", "OWNER")
		var wg sync.WaitGroup
		results := make([]response, 2)
		for i, user := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv := e.srv
				if i == 1 {
					srv = second
				}
				q := changeRole
				vars := map[string]any{"ws": ws, "user": user, "role": "MEMBER"}
				if round%2 == 1 {
					q, vars = removeMember, map[string]any{"ws": ws, "user": user}
				}
				results[i] = e.gqlOn(srv, e.token(user), q, vars)
			}()
		}
		wg.Wait()
		succeeded := 0
		for _, r := range results {
			if len(r.Errors) == 0 {
				succeeded++
			} else if r.code() != "CONFLICT" {
				t.Fatalf("round %d: unexpected error %s", round, r.Body)
			}
		}
		if succeeded != 1 {
			t.Errorf("round %d: %d of 2 owners stepped down, want exactly 1", round, succeeded)
		}
		members, err := e.store.MembersOf(context.Background(), ws)
		if err != nil {
			t.Fatal(err)
		}
		owners := 0
		for _, m := range members {
			if m.Role == "OWNER" {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("round %d: %d owners left: %+v", round, owners, members)
		}
	}
}

func TestDeleteWorkspaceDestroysItsKey(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "doomed")
	e.addMember(alice, ws, "bob", "ADMIN")
	keep := e.createWorkspace(alice, "kept")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)

	wantCode(t, e.gql(e.token("bob"), deleteWorkspace, map[string]any{"id": ws}), "FORBIDDEN")
	var p struct {
		ID      string
		Deleted bool
	}
	mustOK(t, e.gql(alice, deleteWorkspace, map[string]any{"id": ws})).field(t, "deleteWorkspace", &p)
	if p.ID != ws || !p.Deleted {
		t.Fatalf("payload = %+v", p)
	}
	ctx := context.Background()
	if ok, err := e.db.Raw(e.t).HasDataKey(ctx, ws); err != nil || ok {
		t.Fatalf("data key survived deletion: %v %v", ok, err)
	}
	if ms, err := e.store.MembersOf(ctx, ws); err != nil || len(ms) != 0 {
		t.Fatalf("members survived deletion: %v %v", ms, err)
	}
	if _, err := e.store.Credential(ctx, cred); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("credential survived deletion: %v", err)
	}
	for _, tok := range []string{alice, e.token("bob")} {
		if r := mustOK(t, e.gql(tok, workspaceQuery, map[string]any{"id": ws})); string(r.Data["workspace"]) != "null" {
			t.Errorf("deleted workspace still visible: %s", r.Body)
		}
	}
	wantCode(t, e.gql(alice, deleteWorkspace, map[string]any{"id": ws}), "NOT_FOUND")
	// The other workspace and its key are untouched.
	if ok, err := e.db.Raw(e.t).HasDataKey(ctx, keep); err != nil || !ok {
		t.Fatalf("other workspace lost its key: %v %v", ok, err)
	}
	var list []workspaceJSON
	mustOK(t, e.gql(alice, workspacesQuery, nil)).field(t, "workspaces", &list)
	if len(list) != 1 || list[0].ID != keep {
		t.Errorf("workspaces after delete: %+v", list)
	}
}
