package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/graph/model"
)

func (r *credentialResolver) Connection(ctx context.Context, obj *apimodel.Credential) (*model.OAuthConnection, error) {
	c, err := r.credentials.Connection(ctx, obj.View)
	if c == nil || err != nil {
		return nil, err
	}
	out := &model.OAuthConnection{State: model.ConnectionState(c.State), GrantType: c.GrantType, Scopes: c.Scopes,
		ConnectedAt: c.ConnectedAt, ExpiresAt: c.ExpiresAt, LastRefreshedAt: c.LastRefreshedAt}
	if c.Account != "" {
		out.Account = &c.Account
	}
	if c.ConnectedBy != "" {
		u, err := r.user(ctx, c.ConnectedBy)
		if err != nil {
			return nil, err
		}
		out.ConnectedBy = u
	}
	return out, nil
}
