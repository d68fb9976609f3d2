// Package gqlexec holds what credkeep adds to gqlgen's execution: a sequential
// way to marshal lists whose elements have nothing to wait for, and the code
// generator that makes graph/ use it (gqlexec/gqlgen).
//
// gqlgen marshals every element of a list of objects in its own goroutine, so
// that resolvers behind dataloaders can batch. For a list of plain values, such
// as a credential's fields, there is nothing to batch: the goroutines (and the
// stacks they grow) were a fifth of the CPU of a page of credentials.
package gqlexec

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// MarshalSlice has graphql.MarshalSliceConcurrently's signature and results,
// but marshals the elements one after another in the caller's goroutine. The
// generator uses it only for lists whose element type, and everything below
// it, resolves without a resolver or a context-taking method. workerLimit is
// accepted for the signature and has nothing to limit.
func MarshalSlice(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	failed := false
	for i := range length {
		childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshalElement(childCtx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(childCtx, graphql.Recover(childCtx, r))
					failed = true
				}
			}()
			ret[i] = marshalElement(childCtx, i)
		}()
	}
	if failed {
		return nil
	}
	return ret
}

// Schema tells, for each object type, which of its fields wait for something
// (a resolver or context-taking method that gqlgen runs concurrently, so that
// a dataloader can batch across siblings) and which object type each field
// leads to. The generator writes it into graph/ (gqlexecSchema).
type Schema map[string]Object

// Object is one object type: the type names its fragments may name (itself and
// its interfaces) and its fields by name.
type Object struct {
	Implementors []string
	Fields       map[string]Field
}

// Field is one field of an object: whether it waits, the object type it
// leads to ("" for scalars and enums), and whether a rendering that holds it
// may be kept (Schema.Render).
type Field struct {
	Waits bool
	Child string
	Kept  bool
}

// MarshalList marshals a list of objects of type typ one element after another
// when nothing the query selects below them waits (then goroutines buy nothing
// and cost their stacks), else concurrently, as gqlgen does. The decision is
// made once per list from the selection set.
func (s Schema) MarshalList(ctx context.Context, sel ast.SelectionSet, typ string, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if length > 1 && !s.waits(graphql.GetOperationContext(ctx), sel, typ, 0) {
		return MarshalSlice(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
}

// maxDepth bounds the walk; a deeper selection counts as waiting.
const maxDepth = 16

// waits reports whether sel, on an object of type typ, selects a field that
// waits, at any depth. Types it does not know (interfaces, unions) count as waiting.
func (s Schema) waits(oc *graphql.OperationContext, sel ast.SelectionSet, typ string, depth int) bool {
	o, ok := s[typ]
	if !ok || depth > maxDepth {
		return true
	}
	for _, f := range graphql.CollectFields(oc, sel, o.Implementors) {
		if f.Name == "__typename" {
			continue
		}
		fd, ok := o.Fields[f.Name]
		if !ok || fd.Waits {
			return true
		}
		if fd.Child != "" && s.waits(oc, f.Selections, fd.Child, depth+1) {
			return true
		}
	}
	return false
}
