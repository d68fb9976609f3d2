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
