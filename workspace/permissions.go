package workspace

import (
	"credkeep/authn"
	"credkeep/authz"
)

// Permissions are what a viewer may do in a workspace now (the API's
// WorkspacePermissions). Each mirrors the check of its operation, so a client
// offers exactly the actions that would not be refused for lack of access.
type Permissions struct {
	Rename, Delete, RotateKey, ManageMembers, ManageOwners bool
	CreateCredentials, SetDefaults                         bool
	ReadAudit, VerifyAudit                                 bool
	CreateTokens                                           bool
	ManageWebhooks                                         bool
}

// PermissionsOf is what p, a member with role, may do in the workspace.
func PermissionsOf(p *authn.Principal, role authz.Role) Permissions {
	may := func(act authz.WorkspaceAction, scope authn.Scope) bool {
		return p != nil && authz.RoleAllows(role, act) && p.HasScope(scope)
	}
	return Permissions{
		Rename:        may(authz.ActWorkspaceRename, authn.ScopeWorkspacesAdmin),
		Delete:        may(authz.ActWorkspaceDelete, authn.ScopeWorkspacesAdmin),
		RotateKey:     may(authz.ActWorkspaceRotateKey, authn.ScopeWorkspacesAdmin),
		ManageMembers: may(authz.ActMembersManage, authn.ScopeWorkspacesAdmin),
		// Making, changing or removing an OWNER (AddMember, ChangeRole, RemoveMember).
		ManageOwners: may(authz.ActMembersManage, authn.ScopeWorkspacesAdmin) &&
			authz.CanChangeMembership(role, authz.RoleOwner, authz.RoleMember),
		CreateCredentials: may(authz.ActWorkspaceRead, authn.ScopeWrite),
		SetDefaults:       may(authz.ActDefaultsSet, authn.ScopeWrite),
		ReadAudit:         may(authz.ActAuditRead, authn.ScopeAuditRead),
		VerifyAudit:       may(authz.ActAuditRead, authn.ScopeAuditRead),
		// People only: API tokens cannot make tokens.
		CreateTokens:   p != nil && p.Token == nil && authz.RoleAllows(role, authz.ActWorkspaceRead),
		ManageWebhooks: may(authz.ActWebhooksManage, authn.ScopeWorkspacesAdmin),
	}
}
