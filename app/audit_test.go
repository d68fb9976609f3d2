package app_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"credkeep/storage"
)

const auditLogQuery = `query($ws: ID!, $filter: AuditFilter, $first: Int, $after: String) { workspace(id: $ws) { auditLog(filter: $filter, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id seq at action outcome actor { kind user { id } apiTokenId apiTokenName } targetType targetId targetName ip userAgent details { key value } hash } } } } }`

type auditJSON struct {
	Seq     int
	Action  string
	Outcome string
	Actor   struct {
		Kind         string
		User         *struct{ ID string }
		APITokenID   *string `json:"apiTokenId"`
		APITokenName *string `json:"apiTokenName"`
	}
	TargetType *string
	TargetID   *string
	TargetName *string
	IP         *string
	UserAgent  *string
	Details    []struct{ Key, Value string }
	Hash       string
}

func (a auditJSON) detail(k string) string {
	for _, d := range a.Details {
		if d.Key == k {
			return d.Value
		}
	}
	return ""
}

// auditLog returns a workspace's entries, newest first.
func (e *env) auditLog(tok, ws string, filter map[string]any) []auditJSON {
	e.t.Helper()
	var w struct {
		AuditLog struct {
			TotalCount int
			Edges      []struct{ Node auditJSON }
		}
	}
	mustOK(e.t, e.gql(tok, auditLogQuery, map[string]any{"ws": ws, "filter": filter, "first": 200})).field(e.t, "workspace", &w)
	out := make([]auditJSON, len(w.AuditLog.Edges))
	for i, ed := range w.AuditLog.Edges {
		out[i] = ed.Node
	}
	if w.AuditLog.TotalCount != len(out) {
		e.t.Fatalf("totalCount %d for %d entries", w.AuditLog.TotalCount, len(out))
	}
	return out
}

// TestEveryActionIsRecordedOnce performs each operation and checks that it
// added exactly one entry, with the right action, actor, target and details.
func TestEveryActionIsRecordedOnce(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	var ws, cred, grant, tokID string
	steps := []struct {
		action string
		do     func()
		check  func(t *testing.T, a auditJSON)
	}{
		{"WORKSPACE_CREATED", func() { ws = e.createWorkspace(alice, "Audited") }, func(t *testing.T, a auditJSON) {
			if *a.TargetID != ws || *a.TargetName != "Audited" || *a.TargetType != "WORKSPACE" {
				t.Errorf("%+v", a)
			}
		}},
		{"WORKSPACE_UPDATED", func() { mustOK(t, e.gql(alice, renameWorkspace, map[string]any{"id": ws, "name": "Renamed"})) }, func(t *testing.T, a auditJSON) {
			if a.detail("oldName") != "Audited" || a.detail("newName") != "Renamed" {
				t.Errorf("%+v", a)
			}
		}},
		{"MEMBER_ADDED", func() { e.addMember(alice, ws, "bob", "MEMBER") }, func(t *testing.T, a auditJSON) {
			if *a.TargetID != "bob" || a.detail("role") != "MEMBER" {
				t.Errorf("%+v", a)
			}
		}},
		{"MEMBER_ROLE_CHANGED", func() { mustOK(t, e.gql(alice, changeRole, map[string]any{"ws": ws, "user": "bob", "role": "ADMIN"})) }, func(t *testing.T, a auditJSON) {
			if a.detail("from") != "MEMBER" || a.detail("to") != "ADMIN" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_CREATED", func() { cred = e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...) }, func(t *testing.T, a auditJSON) {
			if *a.TargetID != cred || a.detail("type") != "smtp" || a.detail("fields") != "host,password,port,security,username" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_UPDATED", func() {
			mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": cred, "fields": []field{{"key": "password", "value": secrets[4]}}}}))
		}, func(t *testing.T, a auditJSON) {
			if a.detail("changed") != "fields.password" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_SHARED", func() {
			var s struct{ Grants []grantJSON }
			mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "USE"}})).field(t, "shareCredential", &s)
			grant = s.Grants[0].ID
		}, func(t *testing.T, a auditJSON) {
			if a.detail("grantId") != grant || a.detail("userId") != "bob" || a.detail("level") != "USE" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_UNSHARED", func() { mustOK(t, e.gql(alice, unshareCredential, map[string]any{"c": cred, "g": grant})) }, func(t *testing.T, a auditJSON) {
			if a.detail("grantId") != grant {
				t.Errorf("%+v", a)
			}
		}},
		{"TOKEN_CREATED", func() {
			_, tokID = e.apiToken(alice, map[string]any{"name": "ws-bot", "scopes": allScopes(), "workspaceId": ws})
		}, func(t *testing.T, a auditJSON) {
			if *a.TargetID != tokID || *a.TargetType != "API_TOKEN" || a.detail("prefix") == "" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_ATTACHED", func() {
			mustOK(t, e.gql(alice, `mutation($c: ID!) { attachCredential(credentialId: $c, consumer: {kind: BOT, id: "b1"}) { consumerId } }`, map[string]any{"c": cred}))
		}, func(t *testing.T, a auditJSON) {
			if a.detail("consumerKind") != "BOT" || a.detail("consumerId") != "b1" {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_USED", func() {
			secret := e.tokenSecret(alice, ws)
			mustOK(t, e.gql(secret, useCredential, map[string]any{"id": cred, "consumer": map[string]any{"kind": "BOT", "id": "b1"}}))
			e.forget(secrets[4])
		}, func(t *testing.T, a auditJSON) {
			if a.Actor.Kind != "API_TOKEN" || a.Actor.APITokenName == nil || a.Actor.User == nil || a.Actor.User.ID != "alice" ||
				a.detail("consumerId") != "b1" || !strings.Contains(a.detail("fields"), "password") {
				t.Errorf("%+v", a)
			}
		}},
		{"CREDENTIAL_DETACHED", func() {
			mustOK(t, e.gql(alice, `mutation($c: ID!) { detachCredential(credentialId: $c, consumerKind: BOT, consumerId: "b1") { deleted } }`, map[string]any{"c": cred}))
		}, nil},
		{"DEFAULT_CREDENTIAL_SET", func() {
			mustOK(t, e.gql(alice, `mutation($ws: ID!, $c: ID) { setDefaultCredential(workspaceId: $ws, purpose: "email", credentialId: $c) { id } }`, map[string]any{"ws": ws, "c": cred}))
		}, func(t *testing.T, a auditJSON) {
			if a.detail("purpose") != "email" || *a.TargetID != cred {
				t.Errorf("%+v", a)
			}
		}},
		{"TOKEN_REVOKED", func() {
			mustOK(t, e.gql(alice, `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": tokID}))
		}, nil},
		{"CREDENTIAL_DELETED", func() {
			mustOK(t, e.gql(alice, `mutation($id: ID!) { deleteCredential(id: $id, force: true) { deleted } }`, map[string]any{"id": cred}))
		}, nil},
		{"MEMBER_REMOVED", func() { mustOK(t, e.gql(alice, removeMember, map[string]any{"ws": ws, "user": "bob"})) }, nil},
	}
	seen := 0
	for _, s := range steps {
		s.do()
		log := e.auditLog(e.token("alice"), ws, nil)
		var added []auditJSON
		for _, a := range log {
			if a.Seq > seen {
				added = append(added, a)
			}
		}
		// CREDENTIAL_USED's token was created in the step itself (a TOKEN_CREATED too).
		want := 1
		if s.action == "CREDENTIAL_USED" {
			want = 2
		}
		if len(added) != want || added[0].Action != s.action || added[0].Outcome != "SUCCESS" {
			t.Fatalf("%s: new entries %+v", s.action, added)
		}
		a := added[0]
		if a.Seq != seen+want || a.Hash == "" || a.IP == nil || *a.IP != "127.0.0.1" || a.UserAgent == nil {
			t.Errorf("%s: seq/hash/client: %+v", s.action, a)
		}
		if a.Actor.Kind == "USER" && (a.Actor.User == nil || a.Actor.User.ID != "alice") {
			t.Errorf("%s: actor %+v", s.action, a.Actor)
		}
		if s.check != nil {
			s.check(t, a)
		}
		seen = a.Seq
	}
	// Entries survive the credential's deletion; verification passes.
	v := e.verifyAudit(alice, ws)
	if !v.OK || v.Checked != seen || v.FirstBrokenSeq != nil {
		t.Fatalf("verification: %+v (%d entries)", v, seen)
	}
	// WORKSPACE_DELETED: the last entry of its log, and in the platform log.
	mustOK(t, e.gql(alice, deleteWorkspace, map[string]any{"id": ws}))
	for _, log := range []string{ws, storage.PlatformLog} {
		entries, err := e.db.Raw(e.t).AuditEntriesFor(context.Background(), ws)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, en := range entries {
			found = found || (en.Log == log && en.Action == "WORKSPACE_DELETED")
		}
		if !found {
			t.Errorf("no WORKSPACE_DELETED in log %s", log)
		}
	}
	e.scanAuditForSecrets()
}

var wholeToken = regexp.MustCompile(`ck_[0-9A-Za-z]{46}`)

// verification is verifyAuditLog's answer.
type verification struct {
	OK             bool `json:"ok"`
	Checked        int
	FirstBrokenSeq *int
}

// verifyAudit runs verifyAuditLog on a workspace.
func (e *env) verifyAudit(tok, ws string) verification {
	e.t.Helper()
	var v verification
	mustOK(e.t, e.gql(tok, `mutation($ws: ID!) { verifyAuditLog(workspaceId: $ws) { ok checked firstBrokenSeq } }`, map[string]any{"ws": ws})).field(e.t, "verifyAuditLog", &v)
	return v
}

// tokenSecret makes a USE token for the step that needs one.
func (e *env) tokenSecret(jwt, ws string) string {
	s, _ := e.apiToken(jwt, map[string]any{"name": "user-" + ws[:8], "scopes": allScopes(), "workspaceId": ws})
	return s
}

// scanAuditForSecrets reads every audit document raw and looks for stored
// secrets, JWTs and API tokens.
func (e *env) scanAuditForSecrets() {
	e.t.Helper()
	raw, err := e.db.Raw(e.t).DumpAudit(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(raw) == 0 {
		e.t.Fatal("no audit documents")
	}
	for _, doc := range raw {
		for _, s := range secrets {
			if strings.Contains(doc, s) {
				e.t.Errorf("secret in audit document: %s", doc)
			}
		}
		// The 8-character public prefix of a token may appear; a whole token may not.
		if strings.Contains(doc, "eyJ") || wholeToken.MatchString(doc) {
			e.t.Errorf("token in audit document: %s", doc)
		}
	}
}

func TestAccessDeniedIsRecordedAndBounded(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "guarded")
	e.addMember(alice, ws, "bob", "MEMBER")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	read := `query($id: ID!) { credential(id: $id) { id } }`
	// A non-member and a member without access read and write it, many times.
	for i := 0; i < 30; i++ {
		e.rawRequest(e.token("mallory"), "mallory-bot/2.0", read, map[string]any{"id": cred})
		wantCode(t, e.gql(e.token("bob"), updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "x"}}), "NOT_FOUND")
	}
	wantCode(t, e.gql(e.token("bob"), renameWorkspace, map[string]any{"id": ws, "name": "x"}), "FORBIDDEN")
	denied := e.auditLog(alice, ws, map[string]any{"action": "ACCESS_DENIED"})
	var mallory, bob, role int
	for _, a := range denied {
		if a.Outcome != "DENIED" || a.Actor.User == nil {
			t.Fatalf("entry %+v", a)
		}
		switch {
		case a.Actor.User.ID == "mallory" && *a.TargetID == cred:
			mallory++
			if *a.UserAgent != "mallory-bot/2.0" || *a.IP != "127.0.0.1" {
				t.Errorf("client not recorded: %+v", a)
			}
		case a.Actor.User.ID == "bob" && *a.TargetID == cred:
			bob++
		case a.Actor.User.ID == "bob" && *a.TargetType == "WORKSPACE":
			role++
		}
	}
	// 60 refused attempts on the credential within a minute: one entry per actor and target.
	if mallory != 1 || bob != 1 || role != 1 || len(denied) != 3 {
		t.Fatalf("denied entries: mallory %d bob %d role %d (all %d)", mallory, bob, role, len(denied))
	}
	// The next minute, the next entry says how many were suppressed.
	e.clock.Advance(61 * time.Second)
	e.rawRequest(e.token("mallory"), "mallory-bot/2.0", read, map[string]any{"id": cred})
	latest := e.auditLog(e.token("alice"), ws, map[string]any{"action": "ACCESS_DENIED", "actorId": "mallory"})
	if len(latest) != 2 || latest[0].detail("suppressed") != "29" {
		t.Fatalf("after a minute: %+v", latest)
	}
}

func TestAuditLogQueries(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "q")
	e.addMember(alice, ws, "bob", "MEMBER")
	c1 := e.createCredential(alice, ws, "smtp", "One", smtpFields(secrets[0])...)
	c2 := e.createCredential(alice, ws, "smtp", "Two", smtpFields(secrets[0])...)
	for i := 0; i < 3; i++ {
		mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": c1, "name": fmt.Sprintf("One %d", i)}}))
	}
	all := e.auditLog(alice, ws, nil)
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq-1 {
			t.Fatalf("not newest first and gapless: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"credentialId": c1})); n != 4 {
		t.Errorf("credentialId filter: %d entries", n)
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"action": "CREDENTIAL_UPDATED"})); n != 3 {
		t.Errorf("action filter: %d", n)
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"actorId": "bob"})); n != 0 {
		t.Errorf("actor filter: %d", n)
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"outcome": "DENIED"})); n != 0 {
		t.Errorf("outcome filter: %d", n)
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"since": e.clock.Now().Add(time.Minute).Format(time.RFC3339)})); n != 0 {
		t.Errorf("since filter: %d", n)
	}
	// Pages of 2.
	var pages int
	vars := map[string]any{"ws": ws, "first": 2}
	seen := map[int]bool{}
	for {
		var w struct {
			AuditLog struct {
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct{ Node auditJSON }
			}
		}
		mustOK(t, e.gql(alice, auditLogQuery, vars)).field(t, "workspace", &w)
		for _, ed := range w.AuditLog.Edges {
			seen[ed.Node.Seq] = true
		}
		pages++
		if !w.AuditLog.PageInfo.HasNextPage {
			break
		}
		vars["after"] = *w.AuditLog.PageInfo.EndCursor
	}
	if len(seen) != len(all) || pages != (len(all)+1)/2 {
		t.Errorf("paged %d entries in %d pages, want %d", len(seen), pages, len(all))
	}
	// Who may read: members no, their tokens no; a token of an owner needs AUDIT_READ.
	wantCode(t, e.gql(e.token("bob"), auditLogQuery, map[string]any{"ws": ws}), "FORBIDDEN")
	noAudit, _ := e.apiToken(alice, map[string]any{"name": "no-audit", "scopes": []string{"CREDENTIALS_READ"}})
	wantCode(t, e.gql(noAudit, auditLogQuery, map[string]any{"ws": ws}), "FORBIDDEN")
	withAudit, _ := e.apiToken(alice, map[string]any{"name": "audit", "scopes": []string{"CREDENTIALS_READ", "AUDIT_READ"}})
	mustOK(t, e.gql(withAudit, auditLogQuery, map[string]any{"ws": ws}))
	wantCode(t, e.gql(alice, auditLogQuery, map[string]any{"ws": ws, "first": 0}), "BAD_USER_INPUT")

	// Credential.auditTrail: MANAGE.
	const trail = `query($id: ID!) { credential(id: $id) { auditTrail(first: 10) { totalCount edges { node { action targetId } } } } }`
	var c struct {
		AuditTrail struct {
			TotalCount int
			Edges      []struct {
				Node struct{ Action, TargetID string }
			}
		}
	}
	mustOK(t, e.gql(alice, trail, map[string]any{"id": c2})).field(t, "credential", &c)
	if c.AuditTrail.TotalCount != 1 || c.AuditTrail.Edges[0].Node.Action != "CREDENTIAL_CREATED" {
		t.Fatalf("trail = %+v", c)
	}
	mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": c2, "granteeKind": "USER", "userId": "bob", "level": "VIEW"}}))
	wantCode(t, e.gql(e.token("bob"), trail, map[string]any{"id": c2}), "FORBIDDEN")
}

// TestConcurrentWritersKeepTheChain appends from many goroutines through two
// instances at once; the chain stays gapless and valid.
func TestConcurrentWritersKeepTheChain(t *testing.T) {
	e := newEnv(t)
	second := e.instance().srv
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "busy")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	var wg sync.WaitGroup
	const writers, each = 8, 5
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := e.srv
			if w%2 == 1 {
				srv = second
			}
			for i := 0; i < each; i++ {
				r := e.gqlOn(srv, alice, `mutation($c: ID!, $id: String!) { attachCredential(credentialId: $c, consumer: {kind: BOT, id: $id}) { consumerId } }`,
					map[string]any{"c": cred, "id": fmt.Sprintf("bot-%d-%d", w, i)})
				if len(r.Errors) > 0 {
					t.Errorf("attach: %s", r.Body)
				}
			}
		}()
	}
	wg.Wait()
	if v := e.verifyAudit(alice, ws); !v.OK || v.Checked != 2+writers*each {
		t.Fatalf("after %d concurrent appends: %+v", writers*each, v)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "evidence")
	for i := 0; i < 5; i++ {
		e.createCredential(alice, ws, "smtp", fmt.Sprintf("c%d", i), smtpFields(secrets[0])...)
	}
	verify := func() (bool, *int) {
		v := e.verifyAudit(alice, ws)
		return v.OK, v.FirstBrokenSeq
	}
	if ok, _ := verify(); !ok {
		t.Fatal("untouched log does not verify")
	}
	// Someone with database access rewrites entry 3's actor.
	if err := e.db.Raw(e.t).SetAuditEntry(context.Background(), storage.AuditEntryID(ws, 3), bson.M{"actorUserId": "mallory"}); err != nil {
		t.Fatal(err)
	}
	ok, broken := verify()
	if ok || broken == nil || *broken != 3 {
		t.Fatalf("tampered entry 3: ok=%v broken=%v", ok, broken)
	}
	// Deleting an entry is a gap at its number.
	if err := e.db.Raw(e.t).DeleteAuditEntry(context.Background(), storage.AuditEntryID(ws, 2)); err != nil {
		t.Fatal(err)
	}
	if ok, broken := verify(); ok || *broken != 2 {
		t.Fatalf("deleted entry 2: ok=%v broken=%v", ok, broken)
	}
}
