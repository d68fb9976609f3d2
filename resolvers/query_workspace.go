package resolvers

import (
	"context"

	"credkeep/graph/model"
	"credkeep/internal/apierror"
)

func (r *queryResolver) Workspaces(ctx context.Context) ([]*model.Workspace, error) {
	views, err := r.workspaces.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Workspace, len(views))
	for i, v := range views {
		out[i] = toGraphWorkspace(v)
	}
	return out, nil
}

// Workspace answers null, not an error, for a workspace the viewer cannot see.
func (r *queryResolver) Workspace(ctx context.Context, id string) (*model.Workspace, error) {
	v, err := r.workspaces.Get(ctx, id)
	if apierror.Is(err, apierror.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *workspaceResolver) Members(ctx context.Context, obj *model.Workspace) ([]*model.Member, error) {
	ms, err := r.workspaces.Members(ctx, obj.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Member, len(ms))
	for i, m := range ms {
		out[i] = toGraphMember(m)
	}
	return out, nil
}
