package credential

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/connection"
	"credkeep/internal/apierror"
	"credkeep/internal/names"
	"credkeep/internal/redact"
	"credkeep/provider"
	"credkeep/storage"
)

// Consumer is a bot, workflow, function or integration that uses a credential.
type Consumer struct {
	Kind string // BOT, WORKFLOW, FUNCTION, INTEGRATION
	ID   string
	Name string
}

const maxConsumerLen = 200

func (c Consumer) validate(prefix string) (Consumer, error) {
	switch c.Kind {
	case "BOT", "WORKFLOW", "FUNCTION", "INTEGRATION":
	default:
		return c, apierror.Invalid(prefix+"kind", "unknown consumer kind")
	}
	var err error
	if c.ID, err = names.Text(prefix+"id", c.ID, maxConsumerLen, true); err != nil {
		return c, err
	}
	if c.Name, err = names.Text(prefix+"name", c.Name, maxConsumerLen, false); err != nil {
		return c, err
	}
	return c, nil
}

// SecretField is one decrypted field, released by Use only.
type SecretField struct {
	Key   string
	Value redact.Secret
}

// Released is what useCredential returns: the credential and all its values.
type Released struct {
	View        View
	Fields      []SecretField
	AccessToken *redact.Secret
	ExpiresAt   *time.Time
}

// Use releases a credential's values to an API token with CREDENTIALS_USE and
// USE access (user sessions never see secret values). It counts the use, records
// the consumer's usage (attaching it if new) and writes a CREDENTIAL_USED audit
// entry before anything is returned: if the entry cannot be written, nothing is.
func (s *Service) Use(ctx context.Context, id string, consumer *Consumer) (Released, error) {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return Released{}, err
	}
	// Who may fetch at all is decided the same way whether the id exists or not,
	// so the answer tells nothing about ids the caller cannot see (SPEC.md §8).
	var refusal error
	switch {
	case p.Token == nil:
		refusal = apierror.ForbiddenErr("only API tokens can fetch secret values; people never see them")
	case !p.HasScope(authn.ScopeUse):
		refusal = apierror.ForbiddenErr("this API token lacks the %s scope", authn.ScopeUse)
	}
	e, err := s.cache.get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		if refusal != nil {
			return Released{}, refusal
		}
		return Released{}, apierror.NotFoundErr("credential")
	}
	if err != nil {
		return Released{}, err
	}
	c := e.credential()
	if refusal != nil {
		s.denied(ctx, c, "useCredential: "+refusal.(*apierror.Error).Message)
		return Released{}, refusal
	}
	level, err := s.authz.Level(ctx, p, c.WorkspaceID, c.ID)
	if err != nil {
		return Released{}, err
	}
	if level == authz.LevelNone {
		s.denied(ctx, c, "no access")
		return Released{}, apierror.NotFoundErr("credential")
	}
	t, ok := provider.Lookup(c.Type)
	if !ok {
		return Released{}, errors.New("credential has unknown type " + c.Type)
	}
	// The input is checked before anything leaves the process.
	var cons Consumer
	if consumer != nil {
		if cons, err = consumer.validate("consumer."); err != nil {
			return Released{}, err
		}
	}
	// One decryption, of secrets the cache holds encrypted.
	secrets, err := s.store.Unseal(ctx, e.sealed)
	if err != nil {
		return Released{}, err
	}
	// An OAuth2 credential's access token first (refreshed when it expires within
	// a minute): if there is none to give, nothing is counted or recorded as used.
	var token *connection.Token
	if t.AuthKind == provider.OAuth2 {
		tok, err := s.conn.Token(ctx, connCred(c, secrets), false)
		if err != nil {
			return Released{}, apierror.New(apierror.Conflict, "no access token: %v", err)
		}
		token = &tok
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	keys := releasedKeys(t, c.Fields, secrets)
	details := []storage.AuditDetail{{Key: "fields", Value: strings.Join(keys, ",")}}
	if consumer != nil {
		details = append(details, storage.AuditDetail{Key: "consumerKind", Value: cons.Kind}, storage.AuditDetail{Key: "consumerId", Value: cons.ID})
	}
	// The entry first: a use that is not on record is not counted and releases nothing.
	if err := s.audit.Record(ctx, credentialEntry(c, audit.CredentialUsed, details...)); err != nil {
		return Released{}, err
	}
	if consumer != nil {
		// A consumer's name is set when it is first attached; renaming one that
		// exists needs MANAGE, like Attach.
		usage := storage.Usage{CredentialID: c.ID, WorkspaceID: c.WorkspaceID,
			ConsumerKind: cons.Kind, ConsumerID: cons.ID, ConsumerName: cons.Name}
		if err := s.uses.CountConsumerUse(ctx, usage, level >= authz.LevelManage, now); err != nil {
			return Released{}, err
		}
	}
	s.uses.Record(c.WorkspaceID, c.ID, now)
	out := Released{View: View{Credential: c, Type: t, Level: level, entry: e, at: now}}
	if token != nil {
		out.AccessToken, out.ExpiresAt = &token.AccessToken, token.ExpiresAt
	}
	out.Fields = make([]SecretField, 0, len(keys))
	for _, k := range keys {
		v, secret := secrets[k]
		if !secret {
			v = redact.New(c.Fields[k])
		}
		out.Fields = append(out.Fields, SecretField{Key: k, Value: v})
	}
	return out, nil
}

// releasedKeys orders the set fields: catalog order, then (custom) by key.
func releasedKeys(t *provider.Type, plain map[string]string, secrets map[string]redact.Secret) []string {
	var keys []string
	for _, f := range t.Fields {
		_, p := plain[f.Key]
		_, s := secrets[f.Key]
		if p || s {
			keys = append(keys, f.Key)
		}
	}
	if t.IsCustom() {
		for k := range plain {
			keys = append(keys, k)
		}
		for k := range secrets {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	return keys
}

// Attach records a consumer of a credential (USE). Attaching one that exists
// under another name renames it, which needs MANAGE: the consumers of a
// credential are its managers' record, not every user's.
func (s *Service) Attach(ctx context.Context, credentialID string, c Consumer) (Usage, error) {
	v, err := s.require(ctx, credentialID, authz.LevelUse, authn.ScopeWrite)
	if err != nil {
		return Usage{}, err
	}
	c, err = c.validate("consumer.")
	if err != nil {
		return Usage{}, err
	}
	if v.Level < authz.LevelManage && c.Name != "" {
		usages, err := s.store.UsagesOf(ctx, credentialID)
		if err != nil {
			return Usage{}, err
		}
		for _, u := range usages {
			if u.ConsumerKind == c.Kind && u.ConsumerID == c.ID && u.ConsumerName != c.Name {
				s.denied(ctx, v.Credential, "renaming a consumer needs MANAGE, has "+v.Level.String())
				return Usage{}, apierror.ForbiddenErr("renaming a consumer needs MANAGE access to the credential")
			}
		}
	}
	var u storage.Usage
	entry := credentialEntry(v.Credential, audit.CredentialAttached, audit.Detail("consumerKind", c.Kind), audit.Detail("consumerId", c.ID))
	err = audit.Do(ctx, s.audit, entry, func() (err error) {
		u, err = s.store.AttachUsage(ctx, storage.Usage{CredentialID: v.Credential.ID, WorkspaceID: v.Credential.WorkspaceID,
			ConsumerKind: c.Kind, ConsumerID: c.ID, ConsumerName: c.Name, AttachedAt: s.now().UTC().Truncate(time.Millisecond)})
		return err
	})
	if err != nil {
		return Usage{}, err
	}
	s.uses.ConsumerRenamed(u.ID)
	// With the uses counted and not written yet.
	if us, err := s.uses.ConsumerUsages(ctx, credentialID); err == nil {
		if i := slices.IndexFunc(us, func(x storage.Usage) bool { return x.ID == u.ID }); i >= 0 {
			u = us[i]
		}
	}
	return toUsage(u), nil
}

// Detach removes a consumer (MANAGE); NOT_FOUND when it is not attached.
func (s *Service) Detach(ctx context.Context, credentialID, kind, consumerID string) error {
	v, err := s.require(ctx, credentialID, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return err
	}
	usages, err := s.store.UsagesOf(ctx, credentialID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(usages, func(u storage.Usage) bool { return u.ConsumerKind == kind && u.ConsumerID == consumerID }) {
		return apierror.NotFoundErr("usage")
	}
	entry := credentialEntry(v.Credential, audit.CredentialDetached, audit.Detail("consumerKind", kind), audit.Detail("consumerId", consumerID))
	return audit.Do(ctx, s.audit, entry, func() error {
		err := s.store.DetachUsage(ctx, credentialID, kind, consumerID)
		if errors.Is(err, storage.ErrNotFound) {
			return apierror.NotFoundErr("usage")
		}
		if err == nil {
			s.uses.ConsumerDetached(storage.UsageID(credentialID, kind, consumerID))
		}
		return err
	})
}

// Usages lists a credential's consumers (VIEW).
func (s *Service) Usages(ctx context.Context, v View) ([]Usage, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	if v.Level < authz.LevelView {
		return nil, apierror.ForbiddenErr("reading usages needs VIEW access to the credential")
	}
	us, err := s.uses.ConsumerUsages(ctx, v.Credential.ID)
	if err != nil {
		return nil, err
	}
	return toUsages(us), nil
}

// inUse refuses to delete a credential that has consumers.
func inUse(usages []storage.Usage) error {
	list := make([]map[string]any, len(usages))
	for i, u := range usages {
		list[i] = map[string]any{"consumerKind": u.ConsumerKind, "consumerId": u.ConsumerID, "consumerName": nilIfEmpty(u.ConsumerName)}
	}
	return &apierror.Error{Code: apierror.CredentialInUse,
		Message:    "the credential is in use; detach its consumers or delete with force: true",
		Extensions: map[string]any{"usages": list}}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// purposeShape has no '.': a purpose is a key in the workspace's defaults document.
var purposeShape = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// SetDefault makes a credential the workspace's default for a purpose (OWNER,
// ADMIN), or clears it when credentialID is nil.
func (s *Service) SetDefault(ctx context.Context, workspaceID, purpose string, credentialID *string) error {
	if _, _, err := s.workspaces.Require(ctx, workspaceID, authz.ActDefaultsSet, authn.ScopeWrite); err != nil {
		return err
	}
	if !purposeShape.MatchString(purpose) {
		return apierror.Invalid("purpose", "a purpose starts with a lower-case letter and holds lower-case letters, digits, '_' or '-' (at most 64), e.g. email")
	}
	id, name := "", ""
	if credentialID != nil && *credentialID != "" {
		v, err := s.require(ctx, *credentialID, authz.LevelUse, authn.ScopeWrite)
		if err != nil {
			return err
		}
		if v.Credential.WorkspaceID != workspaceID {
			return apierror.Invalid("credentialId", "the credential belongs to another workspace")
		}
		id, name = v.Credential.ID, v.Credential.Name
	}
	entry := audit.Entry{WorkspaceID: workspaceID, Action: audit.DefaultCredentialSet, Outcome: audit.Success,
		TargetType: audit.TargetCredential, TargetID: id, TargetName: name, Details: []storage.AuditDetail{audit.Detail("purpose", purpose)}}
	if id == "" {
		entry.TargetType, entry.TargetID = audit.TargetWorkspace, workspaceID
		entry.Details = append(entry.Details, audit.Detail("cleared", "true"))
	}
	return audit.Do(ctx, s.audit, entry, func() error {
		err := s.store.SetDefaultCredential(ctx, workspaceID, purpose, id)
		if errors.Is(err, storage.ErrNotFound) {
			return apierror.NotFoundErr("workspace")
		}
		return err
	})
}

// Default returns the workspace's default credential for a purpose, or nil when
// there is none or the caller cannot use it.
func (s *Service) Default(ctx context.Context, workspaceID, purpose string) (*View, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	id, err := s.store.DefaultCredential(ctx, workspaceID, purpose)
	if err != nil || id == "" {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	v, err := s.Get(ctx, id)
	if apierror.Is(err, apierror.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v.Credential.WorkspaceID != workspaceID {
		return nil, nil
	}
	return &v, nil
}
