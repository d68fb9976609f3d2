package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// rawRequest posts a query with a User-Agent of the caller's choice.
func (e *env) rawRequest(tok, userAgent, query string, vars map[string]any) response {
	e.t.Helper()
	body := fmt.Sprintf(`{"query":%q,"variables":%s}`, query, mustJSON(e.t, vars))
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", userAgent)
	return do(e.t, req)
}

// No client input can make verifyAuditLog report a break: invalid UTF-8 and
// long values cut mid-character, sent by outsiders and members alike.
func TestHostileInputKeepsTheAuditChain(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "chain")
	e.addMember(alice, ws, "bob", "MEMBER")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	read := `query($id: ID!) { credential(id: $id) { id } }`
	agents := []string{
		"bad-\xff\xfe-utf8",
		strings.Repeat("é", 200),       // 400 bytes: cut at 256 must not split a character
		strings.Repeat("a", 255) + "é", // the cut falls inside the last character
		"\xc3",                         // a lone lead byte
	}
	for i, ua := range agents {
		e.rawRequest(e.token(fmt.Sprintf("outsider%d", i)), ua, read, map[string]any{"id": cred})
		e.rawRequest(e.token("bob"), ua, updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "x"}})
		mustOK(t, e.rawRequest(alice, ua, updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": fmt.Sprintf("Mail %d", i)}}))
	}
	v := e.verifyAudit(alice, ws)
	if !v.OK || v.FirstBrokenSeq != nil {
		t.Fatalf("verifyAuditLog after hostile input: %+v", v)
	}
	entries := e.auditLog(alice, ws, nil)
	if len(entries) < 3*len(agents) {
		t.Fatalf("%d entries, want at least %d", len(entries), 3*len(agents))
	}
	for _, a := range entries {
		if a.UserAgent == nil {
			continue
		}
		if !utf8.ValidString(*a.UserAgent) || len(*a.UserAgent) > 256 {
			t.Errorf("stored user agent %q (%d bytes)", *a.UserAgent, len(*a.UserAgent))
		}
	}
	if v.Checked != len(entries) {
		t.Errorf("checked %d of %d entries", v.Checked, len(entries))
	}
}

// Outsiders cannot use up the budget that records members' refused attempts.
func TestOutsidersCannotExhaustMembersDenialBudget(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "budget")
	e.addMember(alice, ws, "bob", "MEMBER")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	read := `query($id: ID!) { credential(id: $id) { id } }`
	for i := 0; i < 80; i++ { // 80 outsiders, one refused read each
		wantCode(t, e.gql(e.token(fmt.Sprintf("mallory%d", i)), read, map[string]any{"id": cred}), "")
	}
	wantCode(t, e.gql(e.token("bob"), updateCredential, map[string]any{"in": map[string]any{"id": cred, "name": "x"}}), "NOT_FOUND")
	var outsiders, bob int
	for _, a := range e.auditLog(alice, ws, map[string]any{"action": "ACCESS_DENIED"}) {
		switch {
		case a.Actor.User != nil && a.Actor.User.ID == "bob":
			bob++
		case a.Actor.User != nil && strings.HasPrefix(a.Actor.User.ID, "mallory"):
			outsiders++
		}
	}
	if outsiders != 60 {
		t.Errorf("outsiders' entries = %d, want the budget of 60", outsiders)
	}
	if bob != 1 {
		t.Errorf("the member's refused attempt has %d entries, want 1", bob)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
