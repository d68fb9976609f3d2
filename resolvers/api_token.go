package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/apitoken"
	"credkeep/authn"
	"credkeep/graph/model"
	"credkeep/internal/apierror"
)

func (r *queryResolver) APITokens(ctx context.Context) ([]*apimodel.APIToken, error) {
	ts, err := r.tokens.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*apimodel.APIToken, len(ts))
	for i, t := range ts {
		out[i] = toGraphToken(t)
	}
	return out, nil
}

func (r *mutationResolver) CreateAPIToken(ctx context.Context, input model.CreateAPITokenInput) (*model.CreatedAPIToken, error) {
	scopes := make([]authn.Scope, len(input.Scopes))
	for i, s := range input.Scopes {
		scopes[i] = authn.Scope(s)
	}
	in := apitoken.CreateInput{Name: input.Name, Scopes: scopes, WorkspaceID: input.WorkspaceID, ExpiresAt: input.ExpiresAt}
	if input.PersistedQueriesOnly != nil {
		in.PersistedQueriesOnly = *input.PersistedQueriesOnly
	}
	t, secret, err := r.tokens.Create(ctx, in)
	if err != nil {
		return nil, err
	}
	// The one place a token's plaintext leaves the server.
	return &model.CreatedAPIToken{Token: toGraphToken(t), Secret: secret.Reveal()}, nil
}

func (r *mutationResolver) RevokeAPIToken(ctx context.Context, id string) (*model.DeletePayload, error) {
	if err := r.tokens.Revoke(ctx, id); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: id, Deleted: true}, nil
}

func (r *apiTokenResolver) Scopes(ctx context.Context, obj *apimodel.APIToken) ([]model.TokenScope, error) {
	out := make([]model.TokenScope, len(obj.ScopeNames))
	for i, s := range obj.ScopeNames {
		out[i] = model.TokenScope(s)
	}
	return out, nil
}

// Workspace is null for an unrestricted token, and for a workspace the viewer
// no longer belongs to.
func (r *apiTokenResolver) Workspace(ctx context.Context, obj *apimodel.APIToken) (*model.Workspace, error) {
	if obj.WorkspaceID == "" {
		return nil, nil
	}
	v, err := r.workspaces.Get(ctx, obj.WorkspaceID)
	if apierror.Is(err, apierror.NotFound) || apierror.Is(err, apierror.Forbidden) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func toGraphToken(t apitoken.Token) *apimodel.APIToken {
	return &apimodel.APIToken{
		ID: t.ID, Name: t.Name, Prefix: t.Prefix, PersistedQueriesOnly: t.PersistedQueriesOnly,
		CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt,
		WorkspaceID: t.WorkspaceID, ScopeNames: t.Scopes,
	}
}
