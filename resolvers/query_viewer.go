package resolvers

import (
	"context"

	"credkeep/authz"
	"credkeep/graph/model"
)

func (r *queryResolver) Viewer(ctx context.Context) (*model.Viewer, error) {
	p, err := authz.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return &model.Viewer{
		User:    &model.User{ID: p.UserID, Email: optional(p.Email), Name: optional(p.Name)},
		IsAdmin: p.PlatformAdmin,
	}, nil
}
