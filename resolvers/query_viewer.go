package resolvers

import (
	"context"

	"credkeep/authn"
	"credkeep/graph/model"
)

func (r *queryResolver) Viewer(ctx context.Context) (*model.Viewer, error) {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	v := &model.Viewer{ID: "viewer:" + p.UserID, IsAdmin: p.PlatformAdmin}
	if p.Token != nil {
		t, err := r.tokens.Current(ctx)
		if err != nil {
			return nil, err
		}
		if t != nil {
			v.APIToken = toGraphToken(*t)
			v.ID += ":token:" + t.ID
		}
	}
	return v, nil
}

// User is the signed-in user: from the JWT's claims, or for an API token, from
// the record of the user who created it.
func (r *viewerResolver) User(ctx context.Context, obj *model.Viewer) (*model.User, error) {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return r.viewerUser(ctx, p)
}

// viewerUser is the principal's user: from the JWT's claims, or for an API
// token, from the record of the user who created it.
func (r *Resolver) viewerUser(ctx context.Context, p *authn.Principal) (*model.User, error) {
	if p.Token != nil {
		return r.user(ctx, p.UserID)
	}
	return &model.User{ID: p.UserID, Email: optional(p.Email), Name: optional(p.Name)}, nil
}
