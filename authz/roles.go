// Package authz decides what a caller (an authn.Principal) may do: workspace
// roles and their actions, credential access levels (use ⊆ view ⊆ manage) as
// Casbin policies stored in MongoDB, and the per-workspace policy sets each
// instance keeps current by version.
package authz

// Role is a member's role in a workspace.
type Role string

// Workspace roles (SPEC.md §2).
const (
	RoleOwner  Role = "OWNER"
	RoleAdmin  Role = "ADMIN"
	RoleMember Role = "MEMBER"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// WorkspaceAction is something done to a workspace as a whole.
type WorkspaceAction string

// Workspace actions.
const (
	ActWorkspaceRead      WorkspaceAction = "workspace:read"
	ActWorkspaceRename    WorkspaceAction = "workspace:rename"
	ActWorkspaceDelete    WorkspaceAction = "workspace:delete"
	ActWorkspaceRotateKey WorkspaceAction = "workspace:rotate-key"
	ActMembersManage      WorkspaceAction = "members:manage"
	ActCredentialsAdmin   WorkspaceAction = "credentials:admin" // MANAGE on every credential
	ActAuditRead          WorkspaceAction = "audit:read"
	ActDefaultsSet        WorkspaceAction = "defaults:set" // default credentials per purpose
	ActWebhooksManage     WorkspaceAction = "webhooks:manage"
)

var roleActions = map[Role]map[WorkspaceAction]bool{
	RoleOwner:  {ActWorkspaceRead: true, ActWorkspaceRename: true, ActWorkspaceDelete: true, ActWorkspaceRotateKey: true, ActMembersManage: true, ActCredentialsAdmin: true, ActAuditRead: true, ActDefaultsSet: true, ActWebhooksManage: true},
	RoleAdmin:  {ActWorkspaceRead: true, ActWorkspaceRename: true, ActMembersManage: true, ActCredentialsAdmin: true, ActAuditRead: true, ActDefaultsSet: true, ActWebhooksManage: true},
	RoleMember: {ActWorkspaceRead: true},
}

// RoleAllows reports whether a member with role r may perform act.
func RoleAllows(r Role, act WorkspaceAction) bool { return roleActions[r][act] }

// CanChangeMembership reports whether an actor with role actor may give a member
// whose role is from (empty: not a member yet) the role to (empty: removal).
// Owners are protected from admins: only an OWNER may make, change or remove an OWNER.
func CanChangeMembership(actor, from, to Role) bool {
	if !RoleAllows(actor, ActMembersManage) {
		return false
	}
	if from == RoleOwner || to == RoleOwner {
		return actor == RoleOwner
	}
	return true
}
