package gqlexec

import (
	"bytes"
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

func marshalAll(arr graphql.Array) string {
	var b bytes.Buffer
	arr.MarshalGQL(&b)
	return b.String()
}

// MarshalSlice answers what MarshalSliceConcurrently answers, in order, with
// each element seeing its own index in the field context.
func TestMarshalSliceMatchesConcurrent(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{}})
	element := func(ctx context.Context, i int) graphql.Marshaler {
		if got := *graphql.GetFieldContext(ctx).Index; got != i {
			t.Errorf("element %d saw index %d", i, got)
		}
		return graphql.MarshalInt(i * i)
	}
	for _, n := range []int{0, 1, 2, 7} {
		want := marshalAll(graphql.MarshalSliceConcurrently(ctx, n, 0, false, element))
		if got := marshalAll(MarshalSlice(ctx, n, 0, false, element)); got != want {
			t.Errorf("n=%d: got %s, want %s", n, got, want)
		}
	}
	if got := marshalAll(MarshalSlice(ctx, 4, 0, false, element)); got != "[0,1,4,9]" {
		t.Errorf("got %s", got)
	}
}

// A panicking element makes the list null and leaves an error, as gqlgen's does;
// the other elements are still marshaled.
func TestMarshalSlicePanicIsAnError(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter,
		func(ctx context.Context, err any) error { return gqlerror.Errorf("recovered") })
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{})
	calls := 0
	got := MarshalSlice(ctx, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		calls++
		if i == 1 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	if got != nil {
		t.Fatalf("got %v, want nil", got)
	}
	if calls != 3 {
		t.Errorf("%d elements marshaled, want 3", calls)
	}
	if errs := graphql.GetErrors(ctx); len(errs) != 1 || errs[0].Message != "recovered" {
		t.Errorf("errors = %v, want one 'recovered'", errs)
	}
}
