package app_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestExpiryAndRotationDue: expiringSoon within the 14-day warning and not
// once expired; rotationDueAt is the last change of secrets plus the period,
// and moves with a new secret; the filters find exactly those credentials.
func TestExpiryAndRotationDue(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "lifecycle")
	now := e.clock.Now()
	create := func(name string, extra map[string]any) string {
		t.Helper()
		in := map[string]any{"workspaceId": ws, "type": "api_key", "name": name, "fields": []field{{"key": "apiKey", "value": "key-of-" + name}}}
		for k, v := range extra {
			in[k] = v
		}
		var c struct{ ID string }
		mustOK(t, e.gql(alice, `mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": in})).field(t, "createCredential", &c)
		return c.ID
	}
	create("soon", map[string]any{"expiresAt": now.Add(10 * 24 * time.Hour).Format(time.RFC3339)})
	create("later", map[string]any{"expiresAt": now.Add(40 * 24 * time.Hour).Format(time.RFC3339)})
	rotated := create("rotated", map[string]any{"rotationPeriodDays": 30})
	create("plain", nil)

	r := e.gql(alice, `mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"workspaceId": ws, "type": "api_key", "name": "bad", "fields": []field{{"key": "apiKey", "value": "x"}}, "rotationPeriodDays": 0}})
	if r.code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != "rotationPeriodDays" {
		t.Fatalf("a rotation period of 0 days: %s", r.Body)
	}

	type row struct {
		Name          string
		ExpiringSoon  bool
		RotationDueAt *time.Time
	}
	list := func(token, filter string) map[string]row {
		t.Helper()
		var w struct {
			Credentials struct{ Edges []struct{ Node row } }
		}
		mustOK(t, e.gql(token, `query($ws: ID!) { workspace(id: $ws) { credentials(filter: {`+filter+`}) { edges { node { name expiringSoon rotationDueAt } } } } }`,
			map[string]any{"ws": ws})).field(t, "workspace", &w)
		out := map[string]row{}
		for _, ed := range w.Credentials.Edges {
			out[ed.Node.Name] = ed.Node
		}
		return out
	}
	names := func(m map[string]row) []string {
		var s []string
		for k := range m {
			s = append(s, k)
		}
		slices.Sort(s)
		return s
	}
	all := list(alice, "")
	if !all["soon"].ExpiringSoon || all["later"].ExpiringSoon || all["plain"].ExpiringSoon {
		t.Fatalf("expiringSoon: %+v", all)
	}
	due := all["rotated"].RotationDueAt
	if due == nil || !due.Equal(now.Truncate(time.Millisecond).Add(30*24*time.Hour)) || all["plain"].RotationDueAt != nil {
		t.Fatalf("rotationDueAt: %v (created %v)", due, now)
	}
	if got := names(list(alice, "expiringWithinDays: 14")); fmt.Sprint(got) != "[soon]" {
		t.Fatalf("expiring within 14 days: %v", got)
	}
	if got := names(list(alice, "expiringWithinDays: 60")); fmt.Sprint(got) != "[later soon]" {
		t.Fatalf("expiring within 60 days: %v", got)
	}
	if got := names(list(alice, "rotationDue: true")); len(got) != 0 {
		t.Fatalf("due before the period passed: %v", got)
	}

	// 31 days on: the rotation is due, the first credential has expired.
	e.clock.Advance(31 * 24 * time.Hour)
	alice = e.token("alice")
	if got := names(list(alice, "rotationDue: true")); fmt.Sprint(got) != "[rotated]" {
		t.Fatalf("due after 31 days: %v", got)
	}
	if got := list(alice, ""); got["soon"].ExpiringSoon || !got["later"].ExpiringSoon {
		t.Fatalf("after 31 days (soon expired, later within 14 days): %+v", got)
	}
	// A new secret: due 30 days from now. Clearing the period: never due.
	mustOK(t, e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"id": rotated, "fields": []field{{"key": "apiKey", "value": "a-new-key"}}}}))
	if got := names(list(alice, "rotationDue: false")); !slices.Contains(got, "rotated") {
		t.Fatalf("still due after a new secret: %v", got)
	}
	mustOK(t, e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"id": rotated, "rotationPeriodDays": nil}}))
	if got := list(alice, ""); got["rotated"].RotationDueAt != nil {
		t.Fatalf("rotationDueAt after clearing the period: %v", got["rotated"].RotationDueAt)
	}
}
