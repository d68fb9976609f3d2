package main

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/99designs/gqlgen/codegen"
	"github.com/vektah/gqlparser/v2/ast"
)

// leafFields is a gqlgen plugin: while gqlgen builds its data it collects the
// fields that only read a struct field of a scalar or enum type (no resolver,
// no method, no arguments, no directives).
//
// gqlgen resolves every field through graphql.ResolveField: a FieldContext, a
// resolver closure, the field middleware chain, a panic guard and a type
// assertion, for what is a struct read. In a page of 50 credentials with their
// fields that is about 1,300 such fields per request, most of the page's CPU.
// The rewrite makes those fields marshal the value directly. What it gives up:
// field interceptors (credkeep has none: see httpapi.NewGraphQL) no longer see
// these fields, and the path of an error they raise (a null in a non-null
// field, which a struct of the right type cannot hold) names the parent object.
type leafFields struct {
	funcs []leafField
}

type leafField struct {
	fn      string // _Object_field
	value   string // obj.Field
	marshal string // the marshal function of the field's type
}

func (*leafFields) Name() string { return "leaffields" }

func (p *leafFields) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if o.Root || o.Kind != ast.Object {
			continue
		}
		for _, f := range o.Fields {
			if !leaf(f) {
				continue
			}
			p.funcs = append(p.funcs, leafField{
				fn:      "_" + o.Name + "_" + f.Name,
				value:   f.GoReceiverName + "." + f.GoFieldName,
				marshal: f.TypeReference.MarshalFunc(),
			})
		}
	}
	sort.Slice(p.funcs, func(i, j int) bool { return p.funcs[i].fn < p.funcs[j].fn })
	return nil
}

func leaf(f *codegen.Field) bool {
	if !f.IsVariable() || f.IsResolver || f.IsConcurrent() || f.IsBatch() || len(f.Args) > 0 || len(f.Directives) > 0 ||
		f.Stream || f.HasHaser || f.Name == "__typename" {
		return false
	}
	d := f.TypeReference.Definition
	return d != nil && (d.Kind == ast.Scalar || d.Kind == ast.Enum)
}

// rewriteLeaves replaces the body of each leaf field's function with a direct
// marshal of its value. A function that is missing, or whose body is not the
// ResolveField call gqlgen makes for a struct field, is an error: the
// generator changed and this must be looked at.
func rewriteLeaves(src []byte, fields []leafField) ([]byte, error) {
	for _, f := range fields {
		head := []byte("func (ec *executionContext) " + f.fn + "(ctx context.Context, field graphql.CollectedField, obj ")
		start := bytes.Index(src, head)
		if start < 0 {
			return nil, fmt.Errorf("field function %s not found", f.fn)
		}
		open := bytes.Index(src[start:], []byte("{\n"))
		end := bytes.Index(src[start:], []byte("\n}\n"))
		if open < 0 || end < open {
			return nil, fmt.Errorf("%s: no body", f.fn)
		}
		body := src[start+open : start+end]
		want := []string{"graphql.ResolveField(", "return " + f.value + ", nil", "ec." + f.marshal + ","}
		for _, w := range want {
			if !bytes.Contains(body, []byte(w)) {
				return nil, fmt.Errorf("%s: expected %q in its body", f.fn, w)
			}
		}
		repl := []byte("{\n\treturn ec." + f.marshal + "(ctx, field.Selections, " + f.value + ")")
		src = append(src[:start+open:start+open], append(repl, src[start+end:]...)...)
	}
	return src, nil
}
