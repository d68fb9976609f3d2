package app_test

import (
	"fmt"
	"testing"
)

// TestAccessMatrix runs every credential operation as every kind of actor:
// {OWNER, ADMIN, MEMBER with USE/VIEW/MANAGE/none, non-member} × {list, fields, update, share, delete}.
func TestAccessMatrix(t *testing.T) {
	type op struct {
		name string
		run  func(e *env, tok, ws, cred string) response
	}
	ops := []op{
		{"read list", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, listCredentials, map[string]any{"ws": ws})
		}},
		{"read one", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, `query($id: ID!) { credential(id: $id) { id viewerAccess } }`, map[string]any{"id": cred})
		}},
		{"read fields", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, `query($id: ID!) { credential(id: $id) { id fields { key hint } } }`, map[string]any{"id": cred})
		}},
		{"read grants", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, `query($id: ID!) { credential(id: $id) { id grants { id } } }`, map[string]any{"id": cred})
		}},
		{"update", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "renamed " + cred}})
		}},
		{"share", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "WORKSPACE", "level": "USE"}})
		}},
		{"delete", func(e *env, tok, ws, cred string) response {
			return e.gql(tok, deleteCredential, map[string]any{"id": cred})
		}},
	}
	const (
		ok        = ""
		absent    = "absent"    // null / not in the list
		forbidden = "FORBIDDEN" // the field or mutation is refused
		notFound  = "NOT_FOUND"
	)
	want := map[string]map[string]string{
		"creator":  {},
		"owner":    {},
		"admin":    {},
		"manage":   {},
		"view":     {"read grants": forbidden, "update": forbidden, "share": forbidden, "delete": forbidden},
		"use":      {"read fields": forbidden, "read grants": forbidden, "update": forbidden, "share": forbidden, "delete": forbidden},
		"none":     {"read list": absent, "read one": absent, "read fields": absent, "read grants": absent, "update": notFound, "share": notFound, "delete": notFound},
		"outsider": {"read list": absent, "read one": absent, "read fields": absent, "read grants": absent, "update": notFound, "share": notFound, "delete": notFound},
	}
	e := newEnv(t)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "matrix")
	for _, m := range []struct{ user, role string }{
		{"admin", "ADMIN"}, {"creator", "MEMBER"}, {"manage", "MEMBER"}, {"view", "MEMBER"}, {"use", "MEMBER"}, {"none", "MEMBER"},
	} {
		e.addMember(owner, ws, m.user, m.role)
	}
	n := 0
	for _, actor := range []string{"creator", "owner", "admin", "manage", "view", "use", "none", "outsider"} {
		for _, o := range ops {
			t.Run(actor+"/"+o.name, func(t *testing.T) {
				n++
				creator := e.token("creator")
				cred := e.createCredential(creator, ws, "smtp", fmt.Sprintf("cred %d", n), smtpFields(secrets[0])...)
				for _, lvl := range []string{"MANAGE", "VIEW", "USE"} {
					mustOK(t, e.gql(creator, shareCredential, map[string]any{"in": map[string]any{
						"credentialId": cred, "granteeKind": "USER", "userId": map[string]string{"MANAGE": "manage", "VIEW": "view", "USE": "use"}[lvl], "level": lvl}}))
				}
				r := o.run(e, e.token(actor), ws, cred)
				switch expected := want[actor][o.name]; expected {
				case ok:
					mustOK(t, r)
					if o.name == "read list" && !listed(t, r, cred) {
						t.Errorf("credential missing from the list: %s", r.Body)
					}
					if o.name == "read one" && string(r.Data["credential"]) == "null" {
						t.Errorf("credential absent: %s", r.Body)
					}
				case absent:
					mustOK(t, r)
					if o.name == "read list" {
						if listed(t, r, cred) {
							t.Errorf("credential listed for %s: %s", actor, r.Body)
						}
					} else if string(r.Data["credential"]) != "null" {
						t.Errorf("credential visible to %s: %s", actor, r.Body)
					}
				default:
					wantCode(t, r, expected)
				}
			})
		}
	}
}

// listed reports whether a list response contains the credential.
func listed(t testing.TB, r response, cred string) bool {
	t.Helper()
	if string(r.Data["workspace"]) == "null" {
		return false
	}
	var w struct {
		Credentials struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	r.field(t, "workspace", &w)
	for _, e := range w.Credentials.Edges {
		if e.Node.ID == cred {
			return true
		}
	}
	return false
}

func TestViewerAccessLevels(t *testing.T) {
	e := newEnv(t)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "levels")
	for _, u := range []string{"admin", "member", "bob"} {
		role := "MEMBER"
		if u == "admin" {
			role = "ADMIN"
		}
		e.addMember(owner, ws, u, role)
	}
	cred := e.createCredential(e.token("member"), ws, "stripe", "Stripe", field{"key": "secretKey", "value": secrets[1]})
	access := func(user string) string {
		var c *struct{ ViewerAccess string }
		mustOK(t, e.gql(e.token(user), `query($id: ID!) { credential(id: $id) { viewerAccess } }`, map[string]any{"id": cred})).field(t, "credential", &c)
		if c == nil {
			return "none"
		}
		return c.ViewerAccess
	}
	for user, want := range map[string]string{"owner": "MANAGE", "admin": "MANAGE", "member": "MANAGE", "bob": "none"} {
		if got := access(user); got != want {
			t.Errorf("%s: %s, want %s", user, got, want)
		}
	}
	// WORKSPACE grant: every member gets it; a USER grant on top raises one member.
	var s struct {
		Sharing string
		Grants  []grantJSON
	}
	mustOK(t, e.gql(e.token("member"), shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "WORKSPACE", "level": "USE"}})).field(t, "shareCredential", &s)
	if s.Sharing != "SHARED" || len(s.Grants) != 1 || s.Grants[0].GranteeKind != "WORKSPACE" || s.Grants[0].User != nil || s.Grants[0].GrantedBy.ID != "member" {
		t.Fatalf("after WORKSPACE grant: %+v", s)
	}
	if got := access("bob"); got != "USE" {
		t.Errorf("bob after WORKSPACE USE: %s", got)
	}
	mustOK(t, e.gql(e.token("member"), shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "VIEW"}}))
	if got := access("bob"); got != "VIEW" {
		t.Errorf("bob after USER VIEW: %s", got)
	}
	// Sharing with the same grantee again replaces the level.
	mustOK(t, e.gql(e.token("member"), shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "WORKSPACE", "level": "VIEW"}})).field(t, "shareCredential", &s)
	if len(s.Grants) != 2 {
		t.Fatalf("grants after re-sharing: %+v", s.Grants)
	}
	// Refusals.
	wantCode(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "stranger", "level": "USE"}}), "BAD_USER_INPUT")
	wantCode(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "level": "USE"}}), "BAD_USER_INPUT")
	wantCode(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "WORKSPACE", "userId": "bob", "level": "USE"}}), "BAD_USER_INPUT")
	wantCode(t, e.gql(owner, unshareCredential, map[string]any{"c": cred, "g": "no-such-grant"}), "NOT_FOUND")
	wantCode(t, e.gql(owner, unshareCredential, map[string]any{"c": cred, "g": "owner"}), "NOT_FOUND")

	// Unshare everything: back to PERSONAL, bob loses access.
	for _, g := range s.Grants {
		mustOK(t, e.gql(owner, unshareCredential, map[string]any{"c": cred, "g": g.ID}))
	}
	var after struct{ Sharing string }
	mustOK(t, e.gql(owner, `query($id: ID!) { credential(id: $id) { sharing } }`, map[string]any{"id": cred})).field(t, "credential", &after)
	if after.Sharing != "PERSONAL" || access("bob") != "none" {
		t.Errorf("after unsharing: %+v, bob %s", after, access("bob"))
	}
}

// TestRevocationIsImmediateAcrossInstances: two server instances with their own
// caches on one database; a revocation on one is refused on the other's next request.
func TestRevocationIsImmediateAcrossInstances(t *testing.T) {
	e := newEnv(t)
	second := e.instance().srv
	owner, bob := e.token("owner"), e.token("bob")
	ws := e.createWorkspace(owner, "revoke")
	e.addMember(owner, ws, "bob", "MEMBER")
	cred := e.createCredential(owner, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	const read = `query($id: ID!) { credential(id: $id) { id fields { key } } }`

	var s struct{ Grants []grantJSON }
	mustOK(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "VIEW"}})).field(t, "shareCredential", &s)
	// Bob reads on the second instance, which now caches the workspace's policies.
	for i := 0; i < 3; i++ {
		if r := mustOK(t, e.gqlOn(second, bob, read, map[string]any{"id": cred})); string(r.Data["credential"]) == "null" {
			t.Fatalf("bob cannot read after the share: %s", r.Body)
		}
	}
	// Unshare on the first instance; the second refuses bob's very next request.
	mustOK(t, e.gql(owner, unshareCredential, map[string]any{"c": cred, "g": s.Grants[0].ID}))
	if r := mustOK(t, e.gqlOn(second, bob, read, map[string]any{"id": cred})); string(r.Data["credential"]) != "null" {
		t.Fatalf("revoked grant still honoured on the other instance: %s", r.Body)
	}

	// The same for a role change: an admin demoted on one instance loses MANAGE on the other.
	e.addMember(owner, ws, "carol", "ADMIN")
	carol := e.token("carol")
	mustOK(t, e.gqlOn(second, carol, updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "by carol"}}))
	mustOK(t, e.gql(owner, changeRole, map[string]any{"ws": ws, "user": "carol", "role": "MEMBER"}))
	if r := e.gqlOn(second, carol, updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "again"}}); r.code() != "NOT_FOUND" {
		t.Fatalf("demoted admin still manages on the other instance: %s", r.Body)
	}

	// And for member removal: grants go with the membership.
	mustOK(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "MANAGE"}}))
	mustOK(t, e.gqlOn(second, bob, read, map[string]any{"id": cred}))
	mustOK(t, e.gql(owner, removeMember, map[string]any{"ws": ws, "user": "bob"}))
	if r := mustOK(t, e.gqlOn(second, bob, read, map[string]any{"id": cred})); string(r.Data["credential"]) != "null" {
		t.Fatalf("removed member still reads on the other instance: %s", r.Body)
	}
	e.addMember(owner, ws, "bob", "MEMBER")
	if r := mustOK(t, e.gqlOn(second, bob, read, map[string]any{"id": cred})); string(r.Data["credential"]) != "null" {
		t.Fatalf("rejoining brought an old grant back: %s", r.Body)
	}
}

func TestDeleteCredential(t *testing.T) {
	e := newEnv(t)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "del")
	cred := e.createCredential(owner, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	var p struct {
		ID      string
		Deleted bool
	}
	mustOK(t, e.gql(owner, deleteCredential, map[string]any{"id": cred})).field(t, "deleteCredential", &p)
	if p.ID != cred || !p.Deleted {
		t.Fatalf("payload %+v", p)
	}
	if r := mustOK(t, e.gql(owner, credentialQuery, map[string]any{"id": cred})); string(r.Data["credential"]) != "null" {
		t.Errorf("deleted credential readable: %s", r.Body)
	}
	wantCode(t, e.gql(owner, deleteCredential, map[string]any{"id": cred}), "NOT_FOUND")
	// The name is free again.
	e.createCredential(owner, ws, "smtp", "Mail", smtpFields(secrets[0])...)
}

// TestUserIDsCannotForgeRules: policy rules are read back as CSV text, so a
// user id with commas, quotes or '#' must not split into a rule of its own.
func TestUserIDsCannotForgeRules(t *testing.T) {
	e := newEnv(t)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "forge")
	evil := `eve, ` + ws + `, *, manage, x, "y" # z`
	e.addMember(owner, ws, evil, "MEMBER")
	cred := e.createCredential(owner, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	other := e.createCredential(owner, ws, "smtp", "Other", smtpFields(secrets[0])...)
	var s struct{ Grants []grantJSON }
	mustOK(t, e.gql(owner, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": evil, "level": "USE"}})).field(t, "shareCredential", &s)
	if len(s.Grants) != 1 || s.Grants[0].User == nil || s.Grants[0].User.ID != evil || s.Grants[0].Level != "USE" {
		t.Fatalf("grant = %+v", s.Grants)
	}
	tok := e.token(evil)
	var c *struct{ ViewerAccess string }
	mustOK(t, e.gql(tok, `query($id: ID!) { credential(id: $id) { viewerAccess } }`, map[string]any{"id": cred})).field(t, "credential", &c)
	if c == nil || c.ViewerAccess != "USE" {
		t.Fatalf("access = %+v", c)
	}
	if r := mustOK(t, e.gql(tok, `query($id: ID!) { credential(id: $id) { viewerAccess } }`, map[string]any{"id": other})); string(r.Data["credential"]) != "null" {
		t.Fatalf("forged rule gave access: %s", r.Body)
	}
}
