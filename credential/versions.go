package credential

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// VersionStore is what secret versions need from storage.
type VersionStore interface {
	SecretVersions(ctx context.Context, credentialID string) ([]storage.SecretVersion, error)
	SealedSecretVersion(ctx context.Context, credentialID string, version int64) (storage.SecretVersion, storage.Sealed, error)
	PendingSecrets(ctx context.Context, credentialID string) (storage.SecretVersion, storage.Sealed, error)
	StageSecrets(ctx context.Context, v storage.SecretVersion, secrets map[string]redact.Secret) error
	DiscardPendingSecrets(ctx context.Context, credentialID string) (bool, error)
}

// VersionState is where a version of a credential's secrets stands.
type VersionState string

// Version states (SPEC.md §12).
const (
	VersionCurrent  VersionState = "CURRENT"
	VersionPending  VersionState = "PENDING"
	VersionPrevious VersionState = "PREVIOUS"
)

// SecretVersion is one version of a credential's secrets, without them.
type SecretVersion struct {
	Version       int64
	State         VersionState
	CreatedAt     time.Time
	CreatedBy     string // a user id; "" unknown
	ChangedFields []string
}

// SecretVersions lists a credential's versions: the staged one (if any),
// the current one, then the kept earlier ones newest first (MANAGE).
func (s *Service) SecretVersions(ctx context.Context, v View) ([]SecretVersion, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	if v.Level < authz.LevelManage {
		return nil, apierror.ForbiddenErr("reading secret versions needs MANAGE access to the credential")
	}
	c := v.Credential
	current := c.CurrentSecretVersion()
	at, by, changed := c.SecretsChange()
	cur := SecretVersion{Version: current, State: VersionCurrent, CreatedAt: at, CreatedBy: by, ChangedFields: nonNil(changed)}
	kept, err := s.store.SecretVersions(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var out []SecretVersion
	for _, e := range kept {
		if e.Pending {
			out = append(out, SecretVersion{Version: current + 1, State: VersionPending, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy, ChangedFields: nonNil(e.ChangedFields)})
		}
	}
	out = append(out, cur)
	for _, e := range kept {
		// A copy of the current secrets left by an update that failed is not an earlier version.
		if !e.Pending && e.Version < current {
			out = append(out, SecretVersion{Version: e.Version, State: VersionPrevious, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy, ChangedFields: nonNil(e.ChangedFields)})
		}
	}
	return out, nil
}

// Rollback makes a copy of an earlier version current (MANAGE): its secrets
// and the plain fields it had, destinations included, so an old secret only
// ever goes back to the destination it was kept with. The secrets being
// replaced become a version of their own, so a rollback can be undone.
func (s *Service) Rollback(ctx context.Context, id string, toVersion int64) (View, error) {
	v, err := s.requireEditable(ctx, id)
	if err != nil {
		return View{}, err
	}
	c := v.Credential
	if toVersion >= c.CurrentSecretVersion() {
		return View{}, &apierror.Error{Code: apierror.BadUserInput, Field: "toVersion",
			Message: "toVersion must be an earlier version than the current one (" + strconv.FormatInt(c.CurrentSecretVersion(), 10) + ")"}
	}
	old, sealed, err := s.store.SealedSecretVersion(ctx, id, toVersion)
	if errors.Is(err, storage.ErrNotFound) {
		return View{}, &apierror.Error{Code: apierror.NotFound, Field: "toVersion",
			Message: "version " + strconv.FormatInt(toVersion, 10) + " is not kept (the last versions are; older ones are destroyed)"}
	}
	if err != nil {
		return View{}, err
	}
	secrets, err := s.store.Unseal(ctx, sealed)
	if err != nil {
		return View{}, err
	}
	details := []storage.AuditDetail{audit.Detail("fromVersion", strconv.FormatInt(c.CurrentSecretVersion(), 10)), audit.Detail("toVersion", strconv.FormatInt(toVersion, 10))}
	keys := slices.Sorted(maps.Keys(c.Fields))
	for k := range old.Fields {
		if _, ok := c.Fields[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if v.Type.Destination(k) && c.Fields[k] != old.Fields[k] { // destinations are not secret: the entry says where from and to
			details = append(details, audit.Detail("from."+k, c.Fields[k]), audit.Detail("to."+k, old.Fields[k]))
		}
	}
	c.Fields, c.SecretKeys = old.Fields, slices.Clone(old.SecretKeys)
	c.SecretsChangedFields = slices.Clone(old.SecretKeys)
	if p, err := authn.RequirePrincipal(ctx); err == nil {
		c.SecretsChangedBy = p.UserID
	}
	c.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	return s.writeCredential(ctx, v, c, secrets, credentialEntry(v.Credential, audit.CredentialRolledBack, details...), nil)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
