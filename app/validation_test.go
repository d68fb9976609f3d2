package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// inputError is what a form needs of one BAD_USER_INPUT error.
type inputError struct {
	Field, Reason string
	Params        map[string]any
}

func inputErrors(t *testing.T, err error) (out []inputError, messages []string) {
	t.Helper()
	var list gqlerror.List
	if !errors.As(err, &list) {
		t.Fatalf("want GraphQL errors, got %v", err)
	}
	for _, e := range list {
		if code := e.Extensions["code"]; code != "BAD_USER_INPUT" {
			t.Fatalf("error %q has code %v, want BAD_USER_INPUT", e.Message, code)
		}
		field, _ := e.Extensions["field"].(string)
		reason, _ := e.Extensions["reason"].(string)
		params, ok := e.Extensions["params"].(map[string]any)
		if !ok {
			t.Fatalf("error %q has no params object: %v", e.Message, e.Extensions)
		}
		out = append(out, inputError{Field: field, Reason: reason, Params: params})
		messages = append(messages, e.Message)
	}
	return out, messages
}

// TestEveryValidationErrorAtOnce (SPEC.md §9): a form with several mistakes
// learns all of them in one round trip, each with its field, a reason to
// translate from and the parameters of the rule; messages use the labels.
func TestEveryValidationErrorAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "forms")
	client := e.client(nil, alice)

	_, err := CreateCredential(ctx, client, CreateCredentialInput{WorkspaceId: ws, Type: "smtp", Name: "  ",
		Fields: []FieldInput{
			{Key: "host", Value: "bad host!"},
			{Key: "port", Value: "99999"},
			{Key: "security", Value: "ssl"},
			{Key: "colour", Value: "blue"},
			{Key: "username", Value: "mailer"},
		}})
	got, messages := inputErrors(t, err)
	want := []inputError{
		{Field: "name", Reason: "REQUIRED", Params: map[string]any{}},
		{Field: "fields.host", Reason: "INVALID_FORMAT", Params: map[string]any{"kind": "HOSTNAME"}},
		{Field: "fields.port", Reason: "OUT_OF_RANGE", Params: map[string]any{"min": float64(1), "max": float64(65535)}},
		{Field: "fields.security", Reason: "NOT_AN_OPTION", Params: map[string]any{"options": []any{"starttls", "tls", "none"}}},
		{Field: "fields.colour", Reason: "UNKNOWN_FIELD", Params: map[string]any{}},
		{Field: "fields.password", Reason: "REQUIRED", Params: map[string]any{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors of a create with six mistakes (-want +got):\n%s", diff)
	}
	for _, label := range []string{"Host", "Port", "Security", "Password"} {
		if !strings.Contains(strings.Join(messages, "\n"), label+" ") {
			t.Errorf("no message names the field by its label %q: %q", label, messages)
		}
	}
	list, err := CredentialList(ctx, client, ws)
	if err != nil {
		t.Fatal(err)
	}
	if n := list.Workspace.Credentials.TotalCount; n != 0 {
		t.Fatalf("a refused create stored %d credentials", n)
	}

	// An update: the name's mistake and the fields' together.
	id := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	e.forget(secrets[0])
	_, err = UpdateCredential(ctx, client, UpdateCredentialInput{Id: id, Name: ptr(strings.Repeat("n", 101)),
		Fields: []FieldInput{{Key: "port", Value: "0"}}})
	got, _ = inputErrors(t, err)
	want = []inputError{
		{Field: "name", Reason: "TOO_LONG", Params: map[string]any{"max": float64(100)}},
		{Field: "fields.port", Reason: "OUT_OF_RANGE", Params: map[string]any{"min": float64(1), "max": float64(65535)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors of an update with two mistakes (-want +got):\n%s", diff)
	}
	r, err := CredentialView(ctx, client, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Credential.Version != 1 || r.Credential.Name != "Mail" {
		t.Errorf("a refused update changed the credential: version %d name %q", r.Credential.Version, r.Credential.Name)
	}
}
