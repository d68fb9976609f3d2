package httpapi

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"credkeep/graph"
)

// heaviestPage is the frontend's credential list at its largest page.
const heaviestPage = `query CredentialPage($ws: ID!, $after: String) { workspace(id: $ws) { id name viewerRole
  credentials(first: 200, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    id name status statusMessage viewerAccess sharing useCount lastUsedAt lastTestedAt expiresAt version createdAt updatedAt
    type { key name authKind editable testable fields { key label kind required secret description default options } }
    owner { id email name } workspace { id name viewerRole }
    fields { key label secret value isSet hint }
    grants { id granteeKind level user { id email name } grantedBy { id email } grantedAt }
    usages { consumerKind consumerId consumerName attachedAt useCount lastUsedAt }
  } } } } }`

// introspection is the query GraphiQL sends to learn the schema.
const introspection = `query IntrospectionQuery { __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType }
  directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`

// TestHeaviestOperationsFitTheLimits measures the operations the limits were
// chosen from, and fails if a limit would refuse them.
func TestHeaviestOperationsFitTheLimits(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Complexity: complexityRoot()})
	for name, q := range map[string]string{"credential page": heaviestPage, "introspection": introspection} {
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		if errs := validator.Validate(es.Schema(), doc); len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs)
		}
		op := doc.Operations[0]
		depth, aliases := measure(op.SelectionSet, name == "introspection", map[string]bool{})
		rawDepth, _ := measure(op.SelectionSet, false, map[string]bool{})
		cost := complexity.Calculate(context.Background(), es, op, map[string]any{"ws": "x"})
		tokens := countTokens(t, q)
		t.Logf("%s: depth %d (%d counting introspection), aliases %d, complexity %d, tokens %d", name, depth, rawDepth, aliases, cost, tokens)
		if depth > MaxDepth || aliases > MaxAliases || tokens > MaxParserTokens {
			t.Errorf("%s does not fit the limits", name)
		}
		if name == "credential page" && cost > MaxComplexity {
			t.Errorf("%s costs %d > %d", name, cost, MaxComplexity)
		}
	}
}

func countTokens(t *testing.T, q string) int {
	lx := lexer.New(&ast.Source{Input: q})
	n := 0
	for {
		tok, err := lx.ReadToken()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind == lexer.EOF {
			return n
		}
		n++
	}
}
