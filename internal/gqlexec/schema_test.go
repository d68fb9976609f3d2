package gqlexec

import (
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// waits finds a waiting field at any depth, through fragments and inline
// fragments, and leaves out fields that @skip or @include drop.
func TestSchemaWaits(t *testing.T) {
	s := Schema{
		"Edge":   {Implementors: []string{"Edge"}, Fields: map[string]Field{"cursor": {}, "node": {Child: "Cred"}}},
		"Cred":   {Implementors: []string{"Cred", "Node"}, Fields: map[string]Field{"id": {}, "owner": {Child: "User"}, "useCount": {Waits: true}, "other": {Child: "Unknown"}}},
		"User":   {Implementors: []string{"User"}, Fields: map[string]Field{"id": {}, "email": {}}},
		"Unused": {},
	}
	cases := map[string]bool{
		`{ edges { cursor node { id owner { id email } } } }`:                            false,
		`{ edges { node { id useCount } } }`:                                             true,
		`{ edges { node { ...F } } } fragment F on Cred { owner { id } useCount }`:       true,
		`{ edges { node { ...F } } } fragment F on Cred { owner { id } }`:                false,
		`{ edges { node { ... on Node { id } ... on Cred { useCount } } } }`:             true,
		`{ edges { node { id useCount @skip(if: true) } } }`:                             false,
		`{ edges { node { id useCount @include(if: false) owner { __typename id } } } }`: false,
		`{ edges { node { other { x } } } }`:                                             true,
	}
	for q, want := range cases {
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		oc := &graphql.OperationContext{Doc: doc, Variables: map[string]any{}}
		edges := doc.Operations[0].SelectionSet[0]
		if got := s.waits(oc, edges.(*ast.Field).SelectionSet, "Edge", 0); got != want {
			t.Errorf("%s: waits %v, want %v", q, got, want)
		}
	}
}
