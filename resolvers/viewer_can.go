package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/graph/model"
	"credkeep/workspace"
)

func (r *credentialResolver) ViewerCan(ctx context.Context, obj *apimodel.Credential) (*model.CredentialPermissions, error) {
	p := r.credentials.Permissions(ctx, obj.View)
	return &model.CredentialPermissions{
		Use: p.Use, View: p.View, Edit: p.Edit, Share: p.Share, Delete: p.Delete,
		Test: p.Test, Refresh: p.Refresh, Authorize: p.Authorize, ReadAudit: p.ReadAudit,
	}, nil
}

func (r *workspaceResolver) ViewerCan(ctx context.Context, obj *model.Workspace) (*model.WorkspacePermissions, error) {
	principal, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	p := workspace.PermissionsOf(principal, authz.Role(obj.ViewerRole))
	return &model.WorkspacePermissions{
		Rename: p.Rename, Delete: p.Delete, RotateKey: p.RotateKey, ManageMembers: p.ManageMembers, ManageOwners: p.ManageOwners,
		CreateCredentials: p.CreateCredentials, SetDefaults: p.SetDefaults,
		ReadAudit: p.ReadAudit, VerifyAudit: p.VerifyAudit, CreateTokens: p.CreateTokens, ManageWebhooks: p.ManageWebhooks,
	}, nil
}
