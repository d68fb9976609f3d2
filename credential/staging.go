package credential

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/loaders"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// Staged rotation (SPEC.md §12): new secret values are staged as a PENDING
// version that useCredential never returns, tested, and then promoted to
// current or discarded. The stage holds the plain fields it goes with, so a
// stage may move a destination; the destination rule applies to it as to an
// update (every set secret staged with it).

// Stage stores new secret values as the credential's PENDING version (MANAGE),
// replacing one staged before.
func (s *Service) Stage(ctx context.Context, id string, fields []FieldInput) (View, error) {
	v, err := s.requireEditable(ctx, id)
	if err != nil {
		return View{}, err
	}
	c := v.Credential
	current, err := loaders.From(ctx, s.store, s.uses).Secrets.Load(ctx, c.ID)
	if err != nil {
		return View{}, err
	}
	before := Values{Plain: c.Fields, Secret: current}
	merged, keys, err := ValidateUpdate(v.Type, before, fields)
	if err != nil {
		return View{}, err
	}
	moved, err := checkDestination(v.Type, before, keys, fields)
	if err != nil {
		return View{}, err
	}
	var changed []string
	for _, k := range keys {
		_, was := current[k]
		_, is := merged.Secret[k]
		if was || is {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return View{}, apierror.Invalid("fields", "these values change no secret: there is nothing to stage")
	}
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return View{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	pending := storage.SecretVersion{CredentialID: c.ID, WorkspaceID: c.WorkspaceID, Version: c.CurrentSecretVersion() + 1,
		CreatedAt: now, CreatedBy: p.UserID, ChangedFields: changed, SecretKeys: secretKeys(merged), Fields: merged.Plain,
		BasedOn: c.Version}
	details := []storage.AuditDetail{audit.Detail("changed", "fields."+strings.Join(changed, ",fields."))}
	for _, k := range moved {
		details = append(details, audit.Detail("from."+k, c.Fields[k]), audit.Detail("to."+k, merged.Plain[k]))
	}
	err = audit.Do(ctx, s.audit, credentialEntry(c, audit.CredentialStaged, details...), func() error {
		return s.store.StageSecrets(ctx, pending, merged.Secret)
	})
	if err != nil {
		return View{}, err
	}
	return v, nil
}

// pendingOf reads a credential's staged version; NOT_FOUND when there is none.
func (s *Service) pendingOf(ctx context.Context, c storage.Credential) (storage.SecretVersion, map[string]redact.Secret, error) {
	pending, sealed, err := s.store.PendingSecrets(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.SecretVersion{}, nil, &apierror.Error{Code: apierror.NotFound, Field: "id",
			Message: "this credential has no staged secrets (stageCredentialSecrets)"}
	}
	if err != nil {
		return storage.SecretVersion{}, nil, err
	}
	secrets, err := s.store.Unseal(ctx, sealed)
	if err != nil {
		return storage.SecretVersion{}, nil, err
	}
	return pending, secrets, nil
}

// Promote makes the staged version current (MANAGE); the replaced values
// become an earlier version. A credential changed since the stage is
// refused (CONFLICT): the stage holds the plain fields of its time, and
// promoting it would undo the change.
func (s *Service) Promote(ctx context.Context, id string) (View, error) {
	v, err := s.require(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	c := v.Credential
	pending, secrets, err := s.pendingOf(ctx, c)
	if err != nil {
		return View{}, err
	}
	if pending.BasedOn != c.Version {
		return View{}, &apierror.Error{Code: apierror.Conflict,
			Message: "the credential changed after these secrets were staged: stage them again (or discard them)"}
	}
	c.Fields, c.SecretKeys = pending.Fields, slices.Clone(pending.SecretKeys)
	c.SecretsChangedFields, c.SecretsChangedBy = pending.ChangedFields, pending.CreatedBy
	c.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	details := []storage.AuditDetail{audit.Detail("version", strconv.FormatInt(c.CurrentSecretVersion()+1, 10))}
	for _, k := range slices.Sorted(maps.Keys(pending.Fields)) {
		if v.Type.Destination(k) && v.Credential.Fields[k] != pending.Fields[k] {
			details = append(details, audit.Detail("from."+k, v.Credential.Fields[k]), audit.Detail("to."+k, pending.Fields[k]))
		}
	}
	return s.writeCredential(ctx, v, c, secrets, credentialEntry(v.Credential, audit.CredentialPromoted, details...), func() error {
		_, err := s.store.DiscardPendingSecrets(ctx, c.ID)
		return err
	})
}

// Discard destroys the staged version (MANAGE).
func (s *Service) Discard(ctx context.Context, id string) (View, error) {
	v, err := s.require(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	if _, _, err := s.store.PendingSecrets(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return View{}, &apierror.Error{Code: apierror.NotFound, Field: "id", Message: "this credential has no staged secrets"}
	} else if err != nil {
		return View{}, err
	}
	err = audit.Do(ctx, s.audit, credentialEntry(v.Credential, audit.CredentialDiscarded), func() error {
		_, err := s.store.DiscardPendingSecrets(ctx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	return v, nil
}

// testPending tests the staged version against its provider (MANAGE). The
// credential's own status is about its current secrets: it is left as it is.
func (s *Service) testPending(ctx context.Context, id string) (TestResult, error) {
	v, err := s.require(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return TestResult{}, err
	}
	if !v.Type.Testable {
		return TestResult{}, apierror.Invalid("id", "%s credentials cannot be tested", v.Type.Name)
	}
	pending, secrets, err := s.pendingOf(ctx, v.Credential)
	if err != nil {
		return TestResult{}, err
	}
	staged := v.Credential
	staged.Fields = pending.Fields
	res := s.conn.Test(ctx, connCred(staged, secrets))
	outcome := audit.Success
	if !res.OK {
		outcome = audit.Failure
	}
	entry := credentialEntry(v.Credential, audit.CredentialTested, audit.Detail("result", res.Message), audit.Detail("pending", "true"))
	if err := s.audit.Record(ctx, withOutcome(entry, outcome)); err != nil {
		return TestResult{}, err
	}
	return TestResult{OK: res.OK, Message: res.Message, TestedAt: s.now().UTC().Truncate(time.Millisecond), View: v}, nil
}

// requireEditable is require(MANAGE) for a change of secret values, which a
// type that is not editable refuses.
func (s *Service) requireEditable(ctx context.Context, id string) (View, error) {
	v, err := s.require(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	if !v.Type.Editable {
		return View{}, &apierror.Error{Code: apierror.NotEditable,
			Message: v.Type.Name + " credentials cannot be edited after creation; delete and recreate it"}
	}
	return v, nil
}
