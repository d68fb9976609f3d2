package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/apimodel"
	"credkeep/internal/apierror"
)

type subscriptionResolver struct{ *Resolver }

func (r *subscriptionResolver) WorkspaceEvents(ctx context.Context, workspaceID string, afterSeq *int) (<-chan *apimodel.AuditEntry, error) {
	var after *int64
	if afterSeq != nil {
		n := int64(*afterSeq)
		after = &n
	}
	events, err := r.workspaces.Events(ctx, workspaceID, after)
	if err != nil {
		return nil, err
	}
	out := make(chan *apimodel.AuditEntry)
	go func() {
		defer close(out)
		for ev := range events {
			if ev.Err != nil {
				// The stream ends with the reason (graphql-transport-ws: an error message).
				transport.AddSubscriptionError(ctx, streamError(ev.Err))
				return
			}
			select {
			case out <- apimodel.NewAuditEntry(ev.Record):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// streamError is the error that ends a stream, as the error presenter would
// show it: a refusal with its code, anything else as internal.
func streamError(err error) *gqlerror.Error {
	if ae, ok := apierror.As(err); ok {
		return &gqlerror.Error{Message: ae.Message, Extensions: map[string]any{"code": string(ae.Code)}}
	}
	return &gqlerror.Error{Message: "internal error: the stream ended; resume with afterSeq",
		Extensions: map[string]any{"code": string(apierror.Internal)}}
}
