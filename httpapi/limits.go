package httpapi

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/graph"
	"credkeep/graph/model"
	"credkeep/internal/apierror"
	"credkeep/internal/pagination"
)

// Limits on one GraphQL operation. They sit above credkeep's heaviest real
// operations, measured by TestHeaviestOperationsFitTheLimits: the frontend's
// credential page at 200 per page with fields, grants, usages and owners
// (depth 7, no alias, complexity 13,805, 132 tokens) and GraphiQL's
// introspection query (depth 13, exempt for those allowed to introspect; 150
// tokens). Stock gqlgen has none of these.
const (
	MaxDepth        = 12
	MaxAliases      = 15
	MaxParserTokens = 1_000
	MaxComplexity   = 20_000
)

// tooComplex does not say which limit was hit, nor its value.
func tooComplex() *gqlerror.Error {
	return &gqlerror.Error{Message: "the query is too complex; ask for less",
		Extensions: map[string]any{"code": string(apierror.QueryTooComplex)}}
}

// complexityRoot costs list fields by their page size (first or last), so a page of 200
// costs 200 times its items.
func complexityRoot() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	page := func(child int, first, last *int) int {
		n := max(positive(first), positive(last))
		if n == 0 {
			n = pagination.Default
		}
		return 1 + child*n
	}
	c.Workspace.Credentials = func(child int, _ *model.CredentialFilter, _ *model.CredentialOrder, first *int, _ *string, last *int, _ *string) int {
		return page(child, first, last)
	}
	c.Workspace.AuditLog = func(child int, _ *model.AuditFilter, first *int, _ *string, last *int, _ *string) int {
		return page(child, first, last)
	}
	c.Credential.AuditTrail = func(child int, first *int, _ *string, last *int, _ *string) int { return page(child, first, last) }
	return c
}

// positive is a page size as given, 0 when absent or not positive.
func positive(n *int) int {
	if n == nil || *n < 0 {
		return 0
	}
	return *n
}

// queryLimits refuses operations that are too deep, alias too much or cost too
// much, before anything runs. Introspection of an admin (or in dev mode) is
// exempt from the depth limit: GraphiQL's introspection query is deep by nature.
type queryLimits struct {
	schema graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = queryLimits{}

func (queryLimits) ExtensionName() string                   { return "QueryLimits" }
func (queryLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l queryLimits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	depth, aliases := measure(oc.Operation.SelectionSet, !oc.DisableIntrospection, map[string]bool{})
	if depth > MaxDepth || aliases > MaxAliases {
		return tooComplex()
	}
	if complexity.Calculate(ctx, l.schema, oc.Operation, oc.Variables) > MaxComplexity {
		return tooComplex()
	}
	return nil
}

// measure returns a selection set's depth and alias count, through fragments.
func measure(set ast.SelectionSet, skipIntrospection bool, seen map[string]bool) (depth, aliases int) {
	for _, sel := range set {
		var d, a int
		switch s := sel.(type) {
		case *ast.Field:
			if skipIntrospection && strings.HasPrefix(s.Name, "__") {
				continue
			}
			if s.Alias != "" && s.Alias != s.Name {
				a++
			}
			cd, ca := measure(s.SelectionSet, skipIntrospection, seen)
			d, a = cd+1, a+ca
		case *ast.InlineFragment:
			d, a = measure(s.SelectionSet, skipIntrospection, seen)
		case *ast.FragmentSpread:
			if s.Definition == nil || seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			d, a = measure(s.Definition.SelectionSet, skipIntrospection, seen)
			delete(seen, s.Name)
		}
		depth = max(depth, d)
		aliases += a
	}
	return depth, aliases
}
