package resolvers

import (
	"context"
	"time"

	"credkeep/apimodel"
	"credkeep/authz"
	"credkeep/credential"
	"credkeep/graph/model"
)

func (r *credentialResolver) Workspace(ctx context.Context, obj *apimodel.Credential) (*model.Workspace, error) {
	// The viewer can use the credential, so it is a member: Get answers from the
	// request's cached membership.
	v, err := r.workspaces.Get(ctx, obj.View.Credential.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return toGraphWorkspace(v), nil
}

func (r *credentialResolver) Type(ctx context.Context, obj *apimodel.Credential) (*model.CredentialType, error) {
	return toGraphType(obj.View.Type), nil
}

func (r *credentialResolver) Status(ctx context.Context, obj *apimodel.Credential) (model.CredentialStatus, error) {
	st, _ := r.credentials.Status(obj.View)
	return model.CredentialStatus(st), nil
}

func (r *credentialResolver) StatusMessage(ctx context.Context, obj *apimodel.Credential) (*string, error) {
	_, msg := r.credentials.Status(obj.View)
	return msg, nil
}

func (r *credentialResolver) UseCount(ctx context.Context, obj *apimodel.Credential) (int, error) {
	u, err := r.credentials.Uses(ctx, obj.View)
	return int(u.UseCount), err
}

func (r *credentialResolver) LastUsedAt(ctx context.Context, obj *apimodel.Credential) (*time.Time, error) {
	u, err := r.credentials.Uses(ctx, obj.View)
	return u.LastUsedAt, err
}

func (r *credentialResolver) Owner(ctx context.Context, obj *apimodel.Credential) (*model.User, error) {
	if obj.Owner != nil {
		return toGraphUser(*obj.Owner), nil
	}
	return r.user(ctx, obj.View.Credential.OwnerID)
}

func (r *credentialResolver) ViewerAccess(ctx context.Context, obj *apimodel.Credential) (model.AccessLevel, error) {
	return toGraphLevel(obj.View.Level), nil
}

func (r *credentialResolver) Sharing(ctx context.Context, obj *apimodel.Credential) (model.SharingScope, error) {
	shared, err := r.credentials.Shared(ctx, obj.View)
	if err != nil {
		return "", err
	}
	if shared {
		return model.SharingScopeShared, nil
	}
	return model.SharingScopePersonal, nil
}

func (r *credentialResolver) Grants(ctx context.Context, obj *apimodel.Credential) ([]*apimodel.Grant, error) {
	grants, err := r.credentials.Grants(ctx, obj.View)
	if err != nil {
		return nil, err
	}
	out := make([]*apimodel.Grant, len(grants))
	for i, g := range grants {
		out[i] = &apimodel.Grant{ID: g.ID, GrantedAt: g.GrantedAt, Grant: g}
	}
	return out, nil
}

func (r *credentialResolver) Fields(ctx context.Context, obj *apimodel.Credential) ([]*model.CredentialField, error) {
	fields, err := r.credentials.Fields(ctx, obj.View)
	if err != nil {
		return nil, err
	}
	out := make([]*model.CredentialField, len(fields))
	for i, f := range fields {
		out[i] = &model.CredentialField{Key: f.Key, Label: f.Label, Secret: f.Secret, Value: f.Value, IsSet: f.IsSet, Hint: f.Hint}
	}
	return out, nil
}

func (r *grantResolver) GranteeKind(ctx context.Context, obj *apimodel.Grant) (model.GranteeKind, error) {
	return model.GranteeKind(obj.Grant.Kind), nil
}

func (r *grantResolver) User(ctx context.Context, obj *apimodel.Grant) (*model.User, error) {
	if obj.Grant.Kind != authz.GranteeUser {
		return nil, nil
	}
	return r.user(ctx, obj.Grant.UserID)
}

func (r *grantResolver) Level(ctx context.Context, obj *apimodel.Grant) (model.AccessLevel, error) {
	return toGraphLevel(obj.Grant.Level), nil
}

func (r *grantResolver) GrantedBy(ctx context.Context, obj *apimodel.Grant) (*model.User, error) {
	return r.user(ctx, obj.Grant.GrantedBy)
}

// user loads a user through the request's loader (one query per batch).
func (r *Resolver) user(ctx context.Context, id string) (*model.User, error) {
	u, err := r.workspaces.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return toGraphUser(u), nil
}

func (r *credentialResolver) SecretVersions(ctx context.Context, obj *apimodel.Credential) ([]*model.SecretVersion, error) {
	versions, err := r.credentials.SecretVersions(ctx, obj.View)
	if err != nil {
		return nil, err
	}
	users := map[string]*model.User{}
	out := make([]*model.SecretVersion, len(versions))
	for i, v := range versions {
		sv := &model.SecretVersion{Version: int(v.Version), State: model.SecretVersionState(v.State), CreatedAt: v.CreatedAt, ChangedFields: v.ChangedFields}
		if v.CreatedBy != "" {
			u, ok := users[v.CreatedBy]
			if !ok {
				found, err := r.workspaces.User(ctx, v.CreatedBy)
				if err != nil {
					return nil, err
				}
				u = toGraphUser(found)
				users[v.CreatedBy] = u
			}
			sv.CreatedBy = u
		}
		out[i] = sv
	}
	return out, nil
}

func (r *credentialResolver) ExpiringSoon(ctx context.Context, obj *apimodel.Credential) (bool, error) {
	return r.credentials.ExpiringSoon(obj.View), nil
}

func (r *credentialResolver) RotationDueAt(ctx context.Context, obj *apimodel.Credential) (*time.Time, error) {
	return credential.RotationDueAt(obj.View.Credential), nil
}
