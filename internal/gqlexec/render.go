package gqlexec

import (
	"bytes"
	"context"
	"io"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"credkeep/internal/rendered"
)

// Renderable is a model whose renderings may be kept between requests:
// Rendered returns the cache of the object's current version and the variant
// this request's rendering is filed under (everything beyond the object that
// the kept fields depend on), or false to render without the cache.
type Renderable interface {
	Rendered(ctx context.Context) (cache *rendered.Cache, variant string, ok bool)
}

// Render marshals obj, an object of type typ, over sel: from the rendering
// kept for sel and obj's variant when there is one, else with render, keeping
// the result when every field sel reaches is one whose value depends only on
// the object and its variant (Field.Kept), nothing in sel carries an argument
// or a directive (so variables cannot change what it selects), and rendering
// added no error. The generator wraps the field-set functions of the objects
// of internal/gqlexec/gqlgen/rendered.go with it.
func (s Schema) Render(ctx context.Context, typ string, sel ast.SelectionSet, obj any, render func() graphql.Marshaler) graphql.Marshaler {
	r, ok := obj.(Renderable)
	if !ok || len(sel) == 0 {
		return render()
	}
	cache, variant, ok := r.Rendered(ctx)
	if !ok {
		return render()
	}
	if json, ok := cache.Get(sel, variant); ok {
		return rawJSON(json)
	}
	if !s.keepable(graphql.GetOperationContext(ctx).Doc, sel, typ, 0) {
		return render()
	}
	errs := len(graphql.GetErrors(ctx))
	m := render()
	if m == graphql.Null {
		return m
	}
	var b bytes.Buffer
	m.MarshalGQL(&b)
	if len(graphql.GetErrors(ctx)) == errs { // else an error, perhaps a sibling's: not kept
		cache.Put(sel, variant, b.Bytes())
	}
	return rawJSON(b.Bytes())
}

// rawJSON writes JSON rendered before.
type rawJSON []byte

func (j rawJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(j) }

// keepable reports whether a rendering of sel on an object of type typ may be
// kept: every field it reaches, through fragments, is a kept field without
// arguments or directives, and no fragment carries a directive or names a
// type the object is not.
func (s Schema) keepable(doc *ast.QueryDocument, sel ast.SelectionSet, typ string, depth int) bool {
	o, ok := s[typ]
	if !ok || depth > maxDepth {
		return false
	}
	for _, x := range sel {
		switch x := x.(type) {
		case *ast.Field:
			if len(x.Arguments) > 0 || len(x.Directives) > 0 {
				return false
			}
			if x.Name == "__typename" {
				continue
			}
			f, ok := o.Fields[x.Name]
			if !ok || !f.Kept {
				return false
			}
			if f.Child != "" && !s.keepable(doc, x.SelectionSet, f.Child, depth+1) {
				return false
			}
		case *ast.InlineFragment:
			if len(x.Directives) > 0 || (x.TypeCondition != "" && !slices.Contains(o.Implementors, x.TypeCondition)) {
				return false
			}
			if !s.keepable(doc, x.SelectionSet, typ, depth+1) {
				return false
			}
		case *ast.FragmentSpread:
			def := doc.Fragments.ForName(x.Name)
			if len(x.Directives) > 0 || def == nil || !slices.Contains(o.Implementors, def.TypeCondition) {
				return false
			}
			if !s.keepable(doc, def.SelectionSet, typ, depth+1) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
