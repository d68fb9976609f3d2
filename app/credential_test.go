package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	credentialQuery   = `query($id: ID!) { credential(id: $id) { ...C fields { key secret value isSet hint } grants { id granteeKind user { id } level grantedBy { id } } } }` + "\n" + credentialFragment
	updateCredential  = `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { ...C fields { key secret value isSet hint } } }` + "\n" + credentialFragment
	deleteCredential  = `mutation($id: ID!) { deleteCredential(id: $id) { id deleted } }`
	shareCredential   = `mutation($in: ShareCredentialInput!) { shareCredential(input: $in) { id sharing grants { id granteeKind user { id } level grantedBy { id } } } }`
	unshareCredential = `mutation($c: ID!, $g: ID!) { unshareCredential(credentialId: $c, grantId: $g) { id sharing grants { id } } }`
	listCredentials   = `query($ws: ID!, $filter: CredentialFilter, $first: Int, $after: String) { workspace(id: $ws) { credentials(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name viewerAccess } } } } }`
)

func fieldByKey(t testing.TB, fs []fieldJSON, key string) fieldJSON {
	t.Helper()
	for _, f := range fs {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("no field %s in %+v", key, fs)
	return fieldJSON{}
}

func TestCredentialTypes(t *testing.T) {
	e := newEnv(t)
	var types []struct {
		Key      string
		AuthKind string
		Editable bool
		Fields   []struct {
			Key      string
			Kind     string
			Required bool
			Secret   bool
			Default  *string
			Options  []string
		}
	}
	mustOK(t, e.gql(e.token("alice"), `{ credentialTypes { key authKind editable fields { key kind required secret default options } } }`, nil)).field(t, "credentialTypes", &types)
	var keys []string
	for _, ty := range types {
		keys = append(keys, ty.Key)
	}
	if got := strings.Join(keys, ","); got != "smtp,google_sheets,microsoft365,whatsapp,stripe,openai,mailgun,twilio,api_key,basic_auth,oauth2,custom" {
		t.Fatalf("types = %s", got)
	}
	smtp := types[0]
	if smtp.AuthKind != "BASIC_AUTH" || !smtp.Editable || len(smtp.Fields) != 6 {
		t.Fatalf("smtp = %+v", smtp)
	}
	port, pw, sec := smtp.Fields[1], smtp.Fields[3], smtp.Fields[4]
	if port.Kind != "PORT" || *port.Default != "587" || !pw.Secret || !pw.Required ||
		sec.Kind != "SELECT" || strings.Join(sec.Options, "/") != "starttls/tls/none" || *sec.Default != "starttls" {
		t.Errorf("smtp fields = %+v", smtp.Fields)
	}
	if types[1].Editable || types[1].AuthKind != "OAUTH2" {
		t.Errorf("google_sheets = %+v", types[1])
	}
}

func TestCreateAndReadCredential(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	id := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)

	ctx := context.Background()
	r, err := CredentialDetail(ctx, e.client(nil, alice), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Credential == nil {
		t.Fatal("the new credential reads as null")
	}
	got := r.Credential
	// The credential as its owner sees it; fields by key.
	type fieldSeen struct {
		Secret, IsSet bool
		Value, Hint   *string
	}
	type seen struct {
		Name                            string
		Version                         int
		Access, Sharing, Status, Type   string
		Owner, Workspace, WorkspaceRole string
		Grants                          int
		Fields                          map[string]fieldSeen
	}
	want := seen{Name: "Mail", Version: 1, Access: "MANAGE", Sharing: "PERSONAL", Status: "ACTIVE", Type: "smtp",
		Owner: "alice", Workspace: ws, WorkspaceRole: "OWNER", Grants: 0,
		Fields: map[string]fieldSeen{
			"password":    {Secret: true, IsSet: true, Hint: ptr("••••4242")}, // value never returned
			"port":        {IsSet: true, Value: ptr("587")},                   // the default, applied
			"security":    {IsSet: true, Value: ptr("starttls")},
			"fromAddress": {}, // optional, unset
		}}
	fields := map[string]fieldSeen{}
	for _, f := range got.Fields {
		if _, ok := want.Fields[f.Key]; ok {
			fields[f.Key] = fieldSeen{Secret: f.Secret, IsSet: f.IsSet, Value: f.Value, Hint: f.Hint}
		}
	}
	if diff := cmp.Diff(want, seen{Name: got.Name, Version: got.Version, Access: string(got.ViewerAccess), Sharing: string(got.Sharing),
		Status: string(got.Status), Type: got.Type.Key, Owner: got.Owner.Id, Workspace: got.Workspace.Id,
		WorkspaceRole: string(got.Workspace.ViewerRole), Grants: len(got.Grants), Fields: fields}); diff != "" {
		t.Errorf("credential (-want +got):\n%s", diff)
	}

	var c credentialJSON
	// A secret shorter than 12 characters has no hint.
	short := e.createCredential(alice, ws, "basic_auth", "Short", field{"key": "username", "value": "u"}, field{"key": "password", "value": secrets[3]})
	mustOK(t, e.gql(alice, credentialQuery, map[string]any{"id": short})).field(t, "credential", &c)
	if pw := fieldByKey(t, c.Fields, "password"); pw.Hint != nil || !pw.IsSet {
		t.Errorf("short secret field = %+v", pw)
	}

	// Custom: any keys; a field is secret when marked so.
	custom := e.createCredential(alice, ws, "custom", "Custom",
		field{"key": "endpoint", "value": "https://api.example.com"},
		field{"key": "token", "value": secrets[2], "secret": true})
	mustOK(t, e.gql(alice, credentialQuery, map[string]any{"id": custom})).field(t, "credential", &c)
	if tok := fieldByKey(t, c.Fields, "token"); !tok.Secret || tok.Value != nil || *tok.Hint != "••••9876" {
		t.Errorf("custom secret = %+v", tok)
	}
	if ep := fieldByKey(t, c.Fields, "endpoint"); ep.Secret || *ep.Value != "https://api.example.com" {
		t.Errorf("custom plain = %+v", ep)
	}

	// Unknown ids, other workspaces' credentials and anonymous callers.
	if r := mustOK(t, e.gql(alice, credentialQuery, map[string]any{"id": "nope"})); string(r.Data["credential"]) != "null" {
		t.Errorf("unknown id: %s", r.Body)
	}
	if r := mustOK(t, e.gql(e.token("mallory"), credentialQuery, map[string]any{"id": id})); string(r.Data["credential"]) != "null" {
		t.Errorf("outsider sees the credential: %s", r.Body)
	}
	wantCode(t, e.gql("", credentialQuery, map[string]any{"id": id}), "UNAUTHENTICATED")
	wantCode(t, e.gql(e.token("mallory"), createCredential, map[string]any{"in": map[string]any{
		"workspaceId": ws, "type": "smtp", "name": "x", "fields": smtpFields("p")}}), "NOT_FOUND")
}

func TestCredentialValidation(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	smtp := func(extra ...field) []field { return append(smtpFields("pw-pw-pw-pw-pw"), extra...) }
	cases := []struct {
		name   string
		typ    string
		cname  string
		fields []field
		field  string
	}{
		{"unknown type", "ftp", "x", nil, "type"},
		{"empty name", "smtp", "  ", smtp(), "name"},
		{"name too long", "smtp", strings.Repeat("n", 101), smtp(), "name"},
		{"missing required", "smtp", "x", []field{{"key": "host", "value": "h"}, {"key": "password", "value": "p"}}, "fields.username"},
		{"empty required", "smtp", "x", smtp(field{"key": "username", "value": ""})[1:], "fields.username"},
		{"unknown field", "smtp", "x", smtp(field{"key": "colour", "value": "red"}), "fields.colour"},
		{"field twice", "smtp", "x", smtp(field{"key": "host", "value": "other"}), "fields.host"},
		{"port zero", "smtp", "x", smtp(field{"key": "port", "value": "0"}), "fields.port"},
		{"port too big", "smtp", "x", smtp(field{"key": "port", "value": "65536"}), "fields.port"},
		{"port not a number", "smtp", "x", smtp(field{"key": "port", "value": "smtp"}), "fields.port"},
		{"bad select", "smtp", "x", smtp(field{"key": "security", "value": "ssl"}), "fields.security"},
		{"bad email", "smtp", "x", smtp(field{"key": "fromAddress", "value": "Ops <ops@example.com>"}), "fields.fromAddress"},
		{"bad hostname", "mailgun", "x", []field{{"key": "domain", "value": "bad_host!"}, {"key": "apiKey", "value": "k"}}, "fields.domain"},
		{"bad url", "openai", "x", []field{{"key": "apiKey", "value": "k"}, {"key": "baseUrl", "value": "ftp://files.example.com"}}, "fields.baseUrl"},
		{"relative url", "openai", "x", []field{{"key": "apiKey", "value": "k"}, {"key": "baseUrl", "value": "/v1"}}, "fields.baseUrl"},
		{"url with password", "basic_auth", "x", []field{{"key": "username", "value": "u"}, {"key": "password", "value": "p"}, {"key": "baseUrl", "value": "https://u:p@api.example.com"}}, "fields.baseUrl"},
		{"stripe key prefix", "stripe", "x", []field{{"key": "secretKey", "value": "pk_test_123"}}, "fields.secretKey"},
		{"oauth token by hand", "oauth2", "x", []field{{"key": "tokenUrl", "value": "https://idp/token"}, {"key": "clientId", "value": "c"}, {"key": "clientSecret", "value": "s"}, {"key": "refreshToken", "value": "r"}}, "fields.refreshToken"},
		{"bad custom key", "custom", "x", []field{{"key": "has space", "value": "v"}}, "fields.has space"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fields == nil {
				tc.fields = []field{}
			}
			r := e.gql(alice, createCredential, map[string]any{"in": map[string]any{
				"workspaceId": ws, "type": tc.typ, "name": tc.cname, "fields": tc.fields}})
			wantCode(t, r, "BAD_USER_INPUT")
			if got := r.Errors[0].Extensions["field"]; got != tc.field {
				t.Errorf("extensions.field = %v, want %s (%s)", got, tc.field, r.Errors[0].Message)
			}
		})
	}
	// Valid edge values.
	e.createCredential(alice, ws, "mailgun", "ip host", field{"key": "domain", "value": "10.0.0.1"}, field{"key": "apiKey", "value": "k"}, field{"key": "region", "value": "eu"})
	e.createCredential(alice, ws, "stripe", "restricted", field{"key": "secretKey", "value": "rk_live_abc"})
	e.createCredential(alice, ws, "smtp", "ports", smtp(field{"key": "port", "value": "65535"}, field{"key": "fromAddress", "value": "ops@example.com"})...)

	// Names are unique per workspace, ignoring case.
	e.createCredential(alice, ws, "smtp", "Prod Mail", smtp()...)
	r := e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "smtp", "name": " prod mail ", "fields": smtp()}})
	wantCode(t, r, "CONFLICT")
	// ... but not across workspaces.
	other := e.createWorkspace(alice, "other")
	e.createCredential(alice, other, "smtp", "Prod Mail", smtp()...)
}

func TestUpdateCredential(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	id := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)

	// Merge: only username changes; the password keeps its value.
	var c credentialJSON
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{
		"id": id, "expectedVersion": 1, "fields": []field{{"key": "username", "value": "mailer2"}}}})).field(t, "updateCredential", &c)
	if c.Version != 2 || *fieldByKey(t, c.Fields, "username").Value != "mailer2" || *fieldByKey(t, c.Fields, "password").Hint != "••••4242" {
		t.Fatalf("after merge: %+v", c)
	}
	// Rotate the secret.
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{
		"id": id, "fields": []field{{"key": "password", "value": secrets[4]}}}})).field(t, "updateCredential", &c)
	if c.Version != 3 || *fieldByKey(t, c.Fields, "password").Hint != "••••1357" {
		t.Fatalf("after rotation: %+v", c)
	}
	// Stale version.
	r := e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "expectedVersion": 2, "name": "x"}})
	wantCode(t, r, "CONFLICT")
	// Clearing a required field is refused; clearing an optional one works.
	wantCode(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "fields": []field{{"key": "host", "value": ""}}}}), "BAD_USER_INPUT")
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "fields": []field{{"key": "fromAddress", "value": "a@example.com"}}}}))
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "fields": []field{{"key": "fromAddress", "value": ""}}}})).field(t, "updateCredential", &c)
	if f := fieldByKey(t, c.Fields, "fromAddress"); f.IsSet {
		t.Errorf("fromAddress not cleared: %+v", f)
	}
	// Rename into a taken name.
	e.createCredential(alice, ws, "smtp", "Other", smtpFields("x-x-x-x")...)
	wantCode(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "name": "OTHER"}}), "CONFLICT")

	// Expiry: a past expiresAt makes it EXPIRED; null clears it.
	past := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "expiresAt": past}})).field(t, "updateCredential", &c)
	if c.Status != "EXPIRED" || c.StatusMessage == nil || c.ExpiresAt == nil {
		t.Errorf("after expiry: %+v", c)
	}
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "expiresAt": nil}})).field(t, "updateCredential", &c)
	if c.Status != "ACTIVE" || c.ExpiresAt != nil {
		t.Errorf("after clearing expiry: %+v", c)
	}
	// Leaving expiresAt out keeps it.
	future := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "expiresAt": future}}))
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": id, "name": "Mail 2"}})).field(t, "updateCredential", &c)
	if c.ExpiresAt == nil || c.Name != "Mail 2" {
		t.Errorf("expiry lost on rename: %+v", c)
	}
	// The clock moves past it.
	e.clock.Advance(2 * time.Hour)
	alice = e.token("alice") // the first token expired with the clock
	mustOK(t, e.gql(alice, credentialQuery, map[string]any{"id": id})).field(t, "credential", &c)
	if c.Status != "EXPIRED" {
		t.Errorf("status after the clock passed expiresAt: %s", c.Status)
	}

	// Not editable: fields refused, name allowed.
	gs := e.createCredential(alice, ws, "google_sheets", "Sheets", field{"key": "clientId", "value": "cid"}, field{"key": "clientSecret", "value": "client-secret-value"})
	wantCode(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": gs, "fields": []field{{"key": "clientId", "value": "other"}}}}), "NOT_EDITABLE")
	mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": gs, "name": "Sheets renamed"}})).field(t, "updateCredential", &c)
	if c.Name != "Sheets renamed" || c.Version != 2 {
		t.Errorf("rename of a non-editable credential: %+v", c)
	}
	wantCode(t, e.gql(alice, updateCredential, map[string]any{"in": map[string]any{"id": "nope", "name": "x"}}), "NOT_FOUND")
}

func TestListCredentials(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	ws := e.createWorkspace(alice, "acme")
	e.addMember(alice, ws, "bob", "MEMBER")
	for i := 0; i < 7; i++ {
		e.createCredential(alice, ws, "smtp", fmt.Sprintf("smtp %d", i), smtpFields("pw-pw-pw-pw")...)
	}
	e.createCredential(alice, ws, "stripe", "Stripe", field{"key": "secretKey", "value": secrets[1]})
	e.createCredential(bob, ws, "openai", "Bob's OpenAI", field{"key": "apiKey", "value": "k"})

	type page struct {
		Workspace struct {
			Credentials struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct {
					Cursor string
					Node   struct{ ID, Name, ViewerAccess string }
				}
			}
		}
	}
	list := func(tok string, vars map[string]any) page {
		t.Helper()
		vars["ws"] = ws
		var p page
		r := mustOK(t, e.gql(tok, listCredentials, vars))
		r.field(t, "workspace", &p.Workspace)
		return p
	}
	names := func(p page) string {
		var n []string
		for _, e := range p.Workspace.Credentials.Edges {
			n = append(n, e.Node.Name)
		}
		return strings.Join(n, ",")
	}

	// Pages of 3 through 9 credentials, sorted by name.
	var all []string
	vars := map[string]any{"first": 3}
	for pages := 0; ; pages++ {
		p := list(alice, vars)
		if p.Workspace.Credentials.TotalCount != 9 {
			t.Fatalf("totalCount = %d", p.Workspace.Credentials.TotalCount)
		}
		all = append(all, names(p))
		if !p.Workspace.Credentials.PageInfo.HasNextPage {
			break
		}
		vars = map[string]any{"first": 3, "after": *p.Workspace.Credentials.PageInfo.EndCursor}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if got := strings.Join(all, "|"); got != "Bob's OpenAI,smtp 0,smtp 1|smtp 2,smtp 3,smtp 4|smtp 5,smtp 6,Stripe" {
		t.Errorf("pages = %s", got)
	}

	// Bob sees only his own credential until one is shared with him.
	if got := names(list(bob, map[string]any{})); got != "Bob's OpenAI" {
		t.Errorf("bob sees %s", got)
	}
	filters := []struct {
		filter map[string]any
		want   string
	}{
		{map[string]any{"type": "stripe"}, "Stripe"},
		{map[string]any{"authKind": "API_KEY"}, "Bob's OpenAI,Stripe"},
		{map[string]any{"authKind": "OAUTH2"}, ""},
		{map[string]any{"search": "SMTP 1"}, "smtp 1"},
		{map[string]any{"search": "ope"}, "Bob's OpenAI"},
		{map[string]any{"ownedByViewer": false}, "Bob's OpenAI"},
		{map[string]any{"status": "EXPIRED"}, ""},
		{map[string]any{"sharing": "SHARED"}, ""},
		{map[string]any{"type": "smtp", "search": "6"}, "smtp 6"},
	}
	for _, f := range filters {
		if got := names(list(alice, map[string]any{"filter": f.filter, "first": 200})); got != f.want {
			t.Errorf("filter %v: got %q, want %q", f.filter, got, f.want)
		}
	}
	for _, bad := range []map[string]any{{"first": 0}, {"first": 201}, {"after": "not-a-cursor!"}, {"filter": map[string]any{"type": "ftp"}}} {
		bad["ws"] = ws
		wantCode(t, e.gql(alice, listCredentials, bad), "BAD_USER_INPUT")
	}
}
