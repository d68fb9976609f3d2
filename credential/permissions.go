package credential

import (
	"context"

	"credkeep/authn"
	"credkeep/authz"
)

// Permissions are what the viewer may do with a credential now (the API's
// CredentialPermissions). Each mirrors the check of its operation: access
// level, token scopes, and what the credential's type allows.
type Permissions struct {
	Use, View, Edit, Share, Delete bool
	Test, Refresh, Authorize       bool
	ReadAudit                      bool
}

// Permissions returns the caller's permissions on the credential of v.
func (s *Service) Permissions(ctx context.Context, v View) Permissions {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return Permissions{}
	}
	manage := v.Level >= authz.LevelManage && p.HasScope(authn.ScopeWrite)
	// A person uses a credential by attaching it to a consumer (Attach); an
	// API token by fetching its secrets (Use).
	use := v.Level >= authz.LevelUse && p.HasScope(authn.ScopeWrite)
	if p.Token != nil {
		use = v.Level >= authz.LevelUse && p.HasScope(authn.ScopeUse)
	}
	t := v.Type
	return Permissions{
		Use:       use,
		View:      v.Level >= authz.LevelView && p.HasScope(authn.ScopeRead),
		Edit:      manage,
		Share:     manage,
		Delete:    manage,
		Test:      manage && t.Testable,
		Refresh:   manage && t.OAuth.Refreshable(),
		Authorize: manage && t.AuthorizationCode(v.Credential.Fields),
		ReadAudit: v.Level >= authz.LevelManage && p.HasScope(authn.ScopeAuditRead),
	}
}
