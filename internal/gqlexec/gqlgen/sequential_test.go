package main

import (
	"strings"
	"testing"

	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/vektah/gqlparser/v2/ast"
)

func object(name string, fields ...*codegen.Field) *codegen.Object {
	o := &codegen.Object{Definition: &ast.Definition{Name: name, Kind: ast.Object}, Fields: fields}
	for _, f := range fields {
		f.Object = o
	}
	return o
}

func field(typ *ast.Definition, resolver bool) *codegen.Field {
	return &codegen.Field{FieldDefinition: &ast.FieldDefinition{Name: "f"}, TypeReference: &config.TypeReference{Definition: typ}, IsResolver: resolver}
}

func TestPlainness(t *testing.T) {
	str := &ast.Definition{Name: "String", Kind: ast.Scalar}
	enum := &ast.Definition{Name: "Level", Kind: ast.Enum}
	iface := &ast.Definition{Name: "Node", Kind: ast.Interface}
	objs := []*codegen.Object{
		object("Field", field(str, false), field(enum, false)),
		object("Owner", field(str, true)),
		object("Edge", field(&ast.Definition{Name: "Owner", Kind: ast.Object}, false)),
		object("Wrapper", field(&ast.Definition{Name: "Field", Kind: ast.Object}, false)),
		object("Loop", field(&ast.Definition{Name: "Loop", Kind: ast.Object}, false)),
		object("Any", field(iface, false)),
	}
	byName := map[string]*codegen.Object{}
	for _, o := range objs {
		byName[o.Name] = o
	}
	p := plainness{objects: byName, known: map[string]bool{}}
	want := map[string]bool{"Field": true, "Owner": false, "Edge": false, "Wrapper": true, "Loop": false, "Any": false, "Missing": false}
	for name, w := range want {
		if got := p.object(name); got != w {
			t.Errorf("%s: plain = %v, want %v", name, got, w)
		}
	}
}

func TestRewrite(t *testing.T) {
	src := `package graph

import (
	"context"
)

func (ec *executionContext) marshalA(ctx context.Context) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, 1, 0, false, nil)
}

func (ec *executionContext) marshalB(ctx context.Context) graphql.Marshaler {
	return graphql.MarshalSliceConcurrently(ctx, 1, 0, false, nil)
}
`
	out, err := rewrite([]byte(src), []string{"marshalB"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Count(s, "gqlexec.MarshalSlice(") != 1 || strings.Count(s, "graphql.MarshalSliceConcurrently(") != 1 ||
		strings.Index(s, "gqlexec.MarshalSlice(") < strings.Index(s, "marshalB") || !strings.Contains(s, `"credkeep/internal/gqlexec"`) {
		t.Errorf("rewrite:\n%s", s)
	}
	if _, err := rewrite([]byte(src), []string{"marshalC"}, nil, nil); err == nil {
		t.Error("a missing function was not an error")
	}
}
