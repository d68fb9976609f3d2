package resolvers

import (
	"context"
	"credkeep/apimodel"
	"credkeep/credential"
	"credkeep/graph/model"
)

func (r *credentialResolver) Connection(ctx context.Context, obj *apimodel.Credential) (*model.OAuthConnection, error) {
	c := credential.ConnectionOf(obj.View)
	if c == nil {
		return nil, nil
	}
	out := &model.OAuthConnection{State: model.ConnectionState(c.State), GrantType: c.GrantType, Scopes: c.Scopes,
		ConnectedAt: c.ConnectedAt, ExpiresAt: c.ExpiresAt, LastRefreshedAt: c.LastRefreshedAt}
	if c.ConnectedBy != "" {
		u, err := r.user(ctx, c.ConnectedBy)
		if err != nil {
			return nil, err
		}
		out.ConnectedBy = u
	}
	return out, nil
}
