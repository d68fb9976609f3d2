package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/graph/model"
)

func (r *mutationResolver) TestCredential(ctx context.Context, id string, pending *bool) (*model.CredentialTestResult, error) {
	res, err := r.credentials.Test(ctx, id, pending != nil && *pending)
	if err != nil {
		return nil, err
	}
	return &model.CredentialTestResult{Ok: res.OK, Message: res.Message, TestedAt: res.TestedAt, Credential: apimodel.NewCredential(res.View)}, nil
}

func (r *mutationResolver) RefreshCredential(ctx context.Context, id string) (*apimodel.Credential, error) {
	v, err := r.credentials.Refresh(ctx, id)
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) StartOAuthAuthorization(ctx context.Context, credentialID string, returnTo *string) (*model.OAuthAuthorization, error) {
	back := ""
	if returnTo != nil {
		back = *returnTo
	}
	a, err := r.credentials.StartAuthorization(ctx, credentialID, back)
	if err != nil {
		return nil, err
	}
	return &model.OAuthAuthorization{AuthorizationURL: a.URL, State: a.State, ExpiresAt: a.ExpiresAt}, nil
}
