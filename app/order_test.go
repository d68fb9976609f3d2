package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCredentialOrderAndBothDirections (SPEC.md §9): every order, paging
// forward and backward with the page info a Relay client needs, and cursors
// that belong to their order.
func TestCredentialOrderAndBothDirections(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "order")
	ids := map[string]string{}
	for _, name := range []string{"e", "d", "c", "b", "a"} { // created e first, a last
		ids[name] = e.createCredential(alice, ws, "api_key", name, field{"key": "apiKey", "value": secrets[1]})
		e.clock.Advance(time.Second)
	}
	e.forget(secrets[1])
	tok, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	for _, name := range []string{"c", "a"} { // c used first, then a; the rest never
		mustOK(t, e.gql(tok, useCredential, map[string]any{"id": ids[name]}))
		e.clock.Advance(time.Second)
	}
	e.forget(secrets[1])
	client := e.client(nil, alice)

	type page struct {
		Names                  string
		HasNext, HasPrevious   bool
		StartCursor, EndCursor string
	}
	get := func(order *CredentialOrder, first *int, after *string, last *int, before *string) page {
		t.Helper()
		r, err := CredentialPage(ctx, client, ws, order, first, after, last, before)
		if err != nil {
			t.Fatal(err)
		}
		c := r.Workspace.Credentials
		var names []string
		for _, edge := range c.Edges {
			names = append(names, edge.Node.Name)
		}
		p := page{Names: strings.Join(names, ","), HasNext: c.PageInfo.HasNextPage, HasPrevious: c.PageInfo.HasPreviousPage}
		if c.PageInfo.StartCursor != nil {
			p.StartCursor, p.EndCursor = *c.PageInfo.StartCursor, *c.PageInfo.EndCursor
		}
		return p
	}
	by := func(f CredentialOrderField, d OrderDirection) *CredentialOrder {
		return &CredentialOrder{Field: f, Direction: &d}
	}
	names := func(p page) page { return page{Names: p.Names, HasNext: p.HasNext, HasPrevious: p.HasPrevious} }

	// Forward, then backward, in the default order (by name).
	first := get(nil, ptr(2), nil, nil, nil)
	if diff := cmp.Diff(page{Names: "a,b", HasNext: true}, names(first)); diff != "" {
		t.Errorf("first 2 (-want +got):\n%s", diff)
	}
	second := get(nil, ptr(2), &first.EndCursor, nil, nil)
	if diff := cmp.Diff(page{Names: "c,d", HasNext: true, HasPrevious: true}, names(second)); diff != "" {
		t.Errorf("first 2 after b (-want +got):\n%s", diff)
	}
	lastTwo := get(nil, nil, nil, ptr(2), nil)
	if diff := cmp.Diff(page{Names: "d,e", HasPrevious: true}, names(lastTwo)); diff != "" {
		t.Errorf("last 2 (-want +got):\n%s", diff)
	}
	back := get(nil, nil, nil, ptr(2), &lastTwo.StartCursor)
	if diff := cmp.Diff(page{Names: "b,c", HasNext: true, HasPrevious: true}, names(back)); diff != "" {
		t.Errorf("last 2 before d (-want +got):\n%s", diff)
	}

	// Every order, both directions.
	for _, c := range []struct {
		order *CredentialOrder
		want  string
	}{
		{by(CredentialOrderFieldName, OrderDirectionDesc), "e,d,c,b,a"},
		{by(CredentialOrderFieldCreatedAt, OrderDirectionAsc), "e,d,c,b,a"},
		{by(CredentialOrderFieldCreatedAt, OrderDirectionDesc), "a,b,c,d,e"},
		{by(CredentialOrderFieldUpdatedAt, OrderDirectionDesc), "a,b,c,d,e"},
		// Never used comes last either way; among them, ties by id (creation order).
		{by(CredentialOrderFieldLastUsedAt, OrderDirectionAsc), "c,a,e,d,b"},
		{by(CredentialOrderFieldLastUsedAt, OrderDirectionDesc), "a,c,e,d,b"},
		{by(CredentialOrderFieldExpiresAt, OrderDirectionAsc), "e,d,c,b,a"},
		{by(CredentialOrderFieldType, OrderDirectionAsc), "e,d,c,b,a"},
	} {
		if got := get(c.order, nil, nil, nil, nil); got.Names != c.want {
			t.Errorf("order %s %s: %s, want %s", c.order.Field, *c.order.Direction, got.Names, c.want)
		}
	}

	// A cursor belongs to its order; first and last do not go together.
	byCreated := by(CredentialOrderFieldCreatedAt, OrderDirectionAsc)
	if _, err := CredentialPage(ctx, client, ws, byCreated, ptr(2), &first.EndCursor, nil, nil); errorCode(err) != "BAD_USER_INPUT" {
		t.Errorf("a name-order cursor in the created order: %v, want BAD_USER_INPUT", err)
	}
	if _, err := CredentialPage(ctx, client, ws, nil, ptr(2), nil, ptr(2), nil); errorCode(err) != "BAD_USER_INPUT" {
		t.Errorf("first and last together: %v, want BAD_USER_INPUT", err)
	}
}
