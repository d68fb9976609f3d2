package gqlexec

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"credkeep/internal/rendered"
)

// model is a Renderable whose variant the test sets.
type model struct {
	cache   rendered.Cache
	variant string
	off     bool
}

func (m *model) Rendered(context.Context) (*rendered.Cache, string, bool) {
	return &m.cache, m.variant, !m.off
}

// Render keeps a rendering only of kept fields without arguments or
// directives, through fragments on the object's types, and only when
// rendering added no error; it serves a kept one for the same selection and
// variant, and renders afresh otherwise.
func TestRenderKeepsOnlyWhatMayBeKept(t *testing.T) {
	s := Schema{
		"Cred": {Implementors: []string{"Cred", "Node"}, Fields: map[string]Field{
			"id": {Kept: true}, "name": {Kept: true}, "owner": {Child: "User", Kept: true},
			"status": {}, "trail": {Child: "Entry", Kept: true},
		}},
		"User":  {Implementors: []string{"User"}, Fields: map[string]Field{"id": {Kept: true}, "email": {}}},
		"Entry": {Implementors: []string{"Entry"}, Fields: map[string]Field{"id": {Kept: true}}},
	}
	cases := []struct {
		query string
		kept  bool
	}{
		{`{ node { id name owner { id } } }`, true},
		{`{ node { __typename id } }`, true},
		{`{ node { ...F } } fragment F on Cred { id owner { id } }`, true},
		{`{ node { ... on Node { id } ... { name } } }`, true},
		{`{ node { id status } }`, false},                     // a field that is not kept
		{`{ node { id owner { email } } }`, false},            // one below
		{`{ node { id trail(first: 2) { id } } }`, false},     // an argument
		{`{ node { id name @include(if: $x) } }`, false},      // a directive
		{`{ node { id ... @skip(if: $x) { name } } }`, false}, // on an inline fragment
		{`{ node { ...F @include(if: $x) } } fragment F on Cred { id }`, false},
		{`{ node { ... on User { id } } }`, false}, // a fragment on another type
		{`{ node { ...F } } fragment F on Cred { id status }`, false},
	}
	for _, tc := range cases {
		doc, err := parser.ParseQuery(&ast.Source{Input: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		sel := doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
		ctx := graphql.WithResponseContext(
			graphql.WithOperationContext(context.Background(), &graphql.OperationContext{Doc: doc, Variables: map[string]any{"x": true}}),
			graphql.DefaultErrorPresenter, graphql.DefaultRecover)
		obj := &model{variant: "VIEW"}
		renders := 0
		render := func() graphql.Marshaler {
			renders++
			return graphql.MarshalString(obj.variant)
		}
		marshal := func() string {
			var b bytes.Buffer
			s.Render(ctx, "Cred", sel, obj, render).MarshalGQL(&b)
			return b.String()
		}

		if got := marshal(); got != `"VIEW"` {
			t.Fatalf("%s: first rendering %s", tc.query, got)
		}
		if got := marshal(); got != `"VIEW"` {
			t.Errorf("%s: second rendering %s", tc.query, got)
		}
		if want := map[bool]int{true: 1, false: 2}[tc.kept]; renders != want {
			t.Errorf("%s: rendered %d times, want %d", tc.query, renders, want)
			continue
		}
		if !tc.kept {
			continue
		}
		// Another variant is rendered afresh, and both are kept.
		obj.variant = "USE"
		if got := marshal(); got != `"USE"` || renders != 2 {
			t.Errorf("%s: another variant: %s after %d renderings", tc.query, got, renders)
		}
		obj.variant = "VIEW"
		if got := marshal(); got != `"VIEW"` || renders != 2 {
			t.Errorf("%s: back to the first variant: %s after %d renderings", tc.query, got, renders)
		}
		// A model that says no is rendered afresh.
		obj.off = true
		if marshal(); renders != 3 {
			t.Errorf("%s: a model without a cache: %d renderings, want 3", tc.query, renders)
		}
	}
}

// A rendering that added an error, or that is null, is not kept.
func TestRenderDoesNotKeepFailures(t *testing.T) {
	s := Schema{"Cred": {Implementors: []string{"Cred"}, Fields: map[string]Field{"id": {Kept: true}}}}
	doc, err := parser.ParseQuery(&ast.Source{Input: `{ node { id } }`})
	if err != nil {
		t.Fatal(err)
	}
	sel := doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
	ctx := graphql.WithResponseContext(graphql.WithOperationContext(context.Background(), &graphql.OperationContext{Doc: doc}),
		graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	for _, failure := range []string{"error", "null"} {
		obj := &model{variant: "VIEW"}
		renders := 0
		render := func() graphql.Marshaler {
			renders++
			if failure == "null" {
				return graphql.Null
			}
			graphql.AddError(ctx, errors.New("forbidden"))
			return graphql.MarshalString("partial")
		}
		for range 2 {
			var b bytes.Buffer
			s.Render(ctx, "Cred", sel, obj, render).MarshalGQL(&b)
		}
		if renders != 2 {
			t.Errorf("%s: rendered %d times, want 2 (not kept)", failure, renders)
		}
	}
	if got := len(graphql.GetErrors(ctx)); got != 2 {
		t.Errorf("errors: %d, want the 2 the renderings added: %v", got, gqlerror.List(graphql.GetErrors(ctx)))
	}
}
