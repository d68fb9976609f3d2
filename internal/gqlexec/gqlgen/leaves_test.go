package main

import (
	"strings"
	"testing"
)

const leafSrc = `package graph

func (ec *executionContext) _T_name(ctx context.Context, field graphql.CollectedField, obj *model.T) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		ec.fieldContext_T_name,
		func(ctx context.Context) (any, error) {
			return obj.Name, nil
		},
		nil,
		ec.marshalNString2string,
		true,
		true,
	)
}

func (ec *executionContext) _T_other(ctx context.Context, field graphql.CollectedField, obj *model.T) (ret graphql.Marshaler) {
	return graphql.ResolveField(ctx, ec.OperationContext, field, nil, func(ctx context.Context) (any, error) { return obj.Other, nil }, nil, ec.marshalNString2string, true, true)
}
`

// A leaf's body becomes a direct marshal of its value; the other stays.
func TestRewriteLeaves(t *testing.T) {
	out, err := rewriteLeaves([]byte(leafSrc), []leafField{{fn: "_T_name", value: "obj.Name", marshal: "marshalNString2string"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	name := s[strings.Index(s, "_T_name("):strings.Index(s, "_T_other(")]
	if !strings.Contains(name, "return ec.marshalNString2string(ctx, field.Selections, obj.Name)\n}") || strings.Contains(name, "ResolveField") {
		t.Errorf("leaf not rewritten:\n%s", name)
	}
	if !strings.Contains(s[strings.Index(s, "_T_other("):], "graphql.ResolveField(") {
		t.Error("a field not listed was rewritten")
	}
	// A body not in the expected shape is an error, not a silent skip.
	if _, err := rewriteLeaves([]byte(leafSrc), []leafField{{fn: "_T_name", value: "obj.Title", marshal: "marshalNString2string"}}); err == nil {
		t.Error("a body of another shape was accepted")
	}
}

const inlineSrc = `package graph

func (ec *executionContext) _T(ctx context.Context, sel ast.SelectionSet, obj *model.T) graphql.Marshaler {
	for i, field := range fields {
		switch field.Name {
		case "a":
			out.Concurrently(i, func(ctx context.Context) graphql.Marshaler { return innerFunc(ctx, out) })
		case "b":
			out.Concurrently(i, func(ctx context.Context) graphql.Marshaler { return innerFunc(ctx, out) })
		default:
			panic("unknown field")
		}
	}
}
`

// Only the listed field runs inline; a listed field with no such case is an error.
func TestRewriteInline(t *testing.T) {
	out, err := rewriteInline([]byte(inlineSrc), map[string][]string{"T": {"b"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	a, b := s[strings.Index(s, `case "a"`):strings.Index(s, `case "b"`)], s[strings.Index(s, `case "b"`):]
	if !strings.Contains(a, concurrently) || !strings.Contains(b, inline) || strings.Contains(b, concurrently) {
		t.Errorf("rewrite:\n%s", s)
	}
	if _, err := rewriteInline([]byte(inlineSrc), map[string][]string{"T": {"c"}}); err == nil {
		t.Error("a missing case was accepted")
	}
}

const renderedSrc = `package graph

func (ec *executionContext) _T(ctx context.Context, sel ast.SelectionSet, obj *model.T) graphql.Marshaler {
	return nil
}

func (ec *executionContext) _TEdge(ctx context.Context, sel ast.SelectionSet, obj *model.TEdge) graphql.Marshaler {
	return ec._T(ctx, sel, obj.Node)
}
`

// The object's field-set function goes through Render under its own name;
// the generated body moves to render<Object>; other objects are unchanged.
func TestRewriteRendered(t *testing.T) {
	out, err := rewriteRendered([]byte(renderedSrc), []string{"T"})
	if err != nil {
		t.Fatal(err)
	}
	want := `package graph

func (ec *executionContext) _T(ctx context.Context, sel ast.SelectionSet, obj *model.T) graphql.Marshaler {
	return gqlexecSchema.Render(ctx, "T", sel, obj, func() graphql.Marshaler { return ec.renderT(ctx, sel, obj) })
}

func (ec *executionContext) renderT(ctx context.Context, sel ast.SelectionSet, obj *model.T) graphql.Marshaler {
	return nil
}

func (ec *executionContext) _TEdge(ctx context.Context, sel ast.SelectionSet, obj *model.TEdge) graphql.Marshaler {
	return ec._T(ctx, sel, obj.Node)
}
`
	if string(out) != want {
		t.Errorf("rewrite:\n%s", out)
	}
	if _, err := rewriteRendered([]byte(renderedSrc), []string{"U"}); err == nil {
		t.Error("a missing object was accepted")
	}
}
