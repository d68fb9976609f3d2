package resolvers

import (
	"context"

	"credkeep/graph/model"
)

func (r *mutationResolver) CreateWorkspace(ctx context.Context, input model.CreateWorkspaceInput) (*model.Workspace, error) {
	v, err := r.workspaces.Create(ctx, input.Name)
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *mutationResolver) RenameWorkspace(ctx context.Context, id string, name string) (*model.Workspace, error) {
	v, err := r.workspaces.Rename(ctx, id, name)
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *mutationResolver) RotateWorkspaceKey(ctx context.Context, workspaceID string) (*model.Workspace, error) {
	v, err := r.workspaces.RotateKey(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *mutationResolver) DeleteWorkspace(ctx context.Context, id string) (*model.DeletePayload, error) {
	if err := r.workspaces.Delete(ctx, id); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: id, Deleted: true}, nil
}

func (r *mutationResolver) AddMember(ctx context.Context, workspaceID string, userID string, role model.WorkspaceRole) (*model.Member, error) {
	m, err := r.workspaces.AddMember(ctx, workspaceID, userID, toRole(role))
	if err != nil {
		return nil, err
	}
	return toGraphMember(m), nil
}

func (r *mutationResolver) ChangeMemberRole(ctx context.Context, workspaceID string, userID string, role model.WorkspaceRole) (*model.Member, error) {
	m, err := r.workspaces.ChangeRole(ctx, workspaceID, userID, toRole(role))
	if err != nil {
		return nil, err
	}
	return toGraphMember(m), nil
}

func (r *mutationResolver) RemoveMember(ctx context.Context, workspaceID string, userID string) (*model.DeletePayload, error) {
	if err := r.workspaces.RemoveMember(ctx, workspaceID, userID); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: userID, Deleted: true}, nil
}
