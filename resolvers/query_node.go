package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/authn"
	"credkeep/graph/model"
	"credkeep/internal/apierror"
)

// Node finds the object with this id among those the viewer can see. Ids are
// not typed, so each kind is tried in turn; a kind that refuses the lookup
// (not found, or a token without the scope to read it) is not the answer.
func (r *queryResolver) Node(ctx context.Context, id string) (model.Node, error) {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	notThis := func(err error) bool {
		return apierror.Is(err, apierror.NotFound) || apierror.Is(err, apierror.Forbidden)
	}
	if c, err := r.credentials.Get(ctx, id); err == nil {
		return apimodel.NewCredential(c), nil
	} else if !notThis(err) {
		return nil, err
	}
	if w, err := r.workspaces.Get(ctx, id); err == nil {
		return toGraphWorkspace(w), nil
	} else if !notThis(err) {
		return nil, err
	}
	if p.Token == nil { // API tokens cannot list tokens
		ts, err := r.tokens.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.ID == id {
				return toGraphToken(t), nil
			}
		}
	}
	if id == p.UserID {
		return r.viewerUser(ctx, p)
	}
	return nil, nil
}
