package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/credential"
	"credkeep/graph/model"
)

func (r *mutationResolver) UseCredential(ctx context.Context, id string, consumer *model.ConsumerInput) (*model.CredentialSecret, error) {
	var c *credential.Consumer
	if consumer != nil {
		cc := toConsumer(*consumer)
		c = &cc
	}
	rel, err := r.credentials.Use(ctx, id, c)
	if err != nil {
		return nil, err
	}
	// The one place secret values leave the server: to an API token, audited.
	out := &model.CredentialSecret{Credential: apimodel.NewCredential(rel.View), Fields: make([]*model.SecretField, len(rel.Fields)), ExpiresAt: rel.ExpiresAt}
	for i, f := range rel.Fields {
		out.Fields[i] = &model.SecretField{Key: f.Key, Value: f.Value.Reveal()}
	}
	if rel.AccessToken != nil {
		v := rel.AccessToken.Reveal()
		out.AccessToken = &v
	}
	return out, nil
}

func (r *mutationResolver) AttachCredential(ctx context.Context, credentialID string, consumer model.ConsumerInput) (*model.CredentialUsage, error) {
	u, err := r.credentials.Attach(ctx, credentialID, toConsumer(consumer))
	if err != nil {
		return nil, err
	}
	return toGraphUsage(u), nil
}

func (r *mutationResolver) DetachCredential(ctx context.Context, credentialID string, consumerKind model.ConsumerKind, consumerID string) (*model.DeletePayload, error) {
	if err := r.credentials.Detach(ctx, credentialID, string(consumerKind), consumerID); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: credential.UsageID(credentialID, credential.Consumer{Kind: string(consumerKind), ID: consumerID}), Deleted: true}, nil
}

func (r *mutationResolver) SetDefaultCredential(ctx context.Context, workspaceID string, purpose string, credentialID *string) (*model.Workspace, error) {
	if err := r.credentials.SetDefault(ctx, workspaceID, purpose, credentialID); err != nil {
		return nil, err
	}
	v, err := r.workspaces.Get(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *workspaceResolver) DefaultCredential(ctx context.Context, obj *model.Workspace, purpose string) (*apimodel.Credential, error) {
	v, err := r.credentials.Default(ctx, obj.ID, purpose)
	if err != nil || v == nil {
		return nil, err
	}
	return apimodel.NewCredential(*v), nil
}

func (r *credentialResolver) Usages(ctx context.Context, obj *apimodel.Credential) ([]*model.CredentialUsage, error) {
	us, err := r.credentials.Usages(ctx, obj.View)
	if err != nil {
		return nil, err
	}
	out := make([]*model.CredentialUsage, len(us))
	for i, u := range us {
		out[i] = toGraphUsage(u)
	}
	return out, nil
}

func toConsumer(c model.ConsumerInput) credential.Consumer {
	out := credential.Consumer{Kind: string(c.Kind), ID: c.ID}
	if c.Name != nil {
		out.Name = *c.Name
	}
	return out
}

func toGraphUsage(u credential.Usage) *model.CredentialUsage {
	return &model.CredentialUsage{
		ConsumerKind: model.ConsumerKind(u.Consumer.Kind), ConsumerID: u.Consumer.ID, ConsumerName: optional(u.Consumer.Name),
		AttachedAt: u.AttachedAt, LastUsedAt: u.LastUsedAt, UseCount: int(u.UseCount),
	}
}
