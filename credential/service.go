// Package credential holds the credentials of a workspace: validation of field
// values against their provider's spec, masking of secrets, status, and the
// service that creates, reads, updates, shares, uses and deletes them.
package credential

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vikstrous/dataloadgen"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/loaders"
	"credkeep/internal/names"
	"credkeep/internal/pagination"
	"credkeep/internal/redact"
	"credkeep/internal/rendered"
	"credkeep/internal/undo"
	"credkeep/provider"
	"credkeep/storage"
)

// Store is what the service needs from storage.
type Store interface {
	loaders.Store
	CacheStore
	VersionStore
	InsertCredential(ctx context.Context, c storage.Credential, secrets map[string]redact.Secret) error
	AttachUsage(ctx context.Context, u storage.Usage) (storage.Usage, error)
	DetachUsage(ctx context.Context, credentialID, kind, consumerID string) error
	UsagesOf(ctx context.Context, credentialID string) ([]storage.Usage, error)
	DeleteUsagesOf(ctx context.Context, credentialID string) error
	SetDefaultCredential(ctx context.Context, workspaceID, purpose, credentialID string) error
	SetCredentialCheck(ctx context.Context, workspaceID, id string, tested *time.Time, lastError string) error
	InsertOAuthState(ctx context.Context, st storage.OAuthState) error
	TakeOAuthState(ctx context.Context, id string) (storage.OAuthState, error)
	DefaultCredential(ctx context.Context, workspaceID, purpose string) (string, error)
	Credential(ctx context.Context, id string) (storage.Credential, error)
	UpdateCredential(ctx context.Context, c storage.Credential, secrets map[string]redact.Secret, expectedVersion int64) (storage.Credential, error)
	DeleteCredential(ctx context.Context, workspaceID, id string) error
	CredentialsWithDeadlines(ctx context.Context) ([]storage.Credential, error)
}

// UseCounter counts and reads credential uses, and the uses by each consumer
// (usecount.Counter).
type UseCounter interface {
	loaders.Uses
	Record(workspaceID, credentialID string, at time.Time)
	CountConsumerUse(ctx context.Context, u storage.Usage, rename bool, at time.Time) error
	ConsumerUsages(ctx context.Context, credentialID string) ([]storage.Usage, error)
	ConsumerRenamed(usageID string)
	ConsumerDetached(usageID string)
}

// Authorizer decides access levels and keeps grants (authz.Authorizer).
type Authorizer interface {
	Level(ctx context.Context, p *authn.Principal, workspaceID, credentialID string) (authz.Level, error)
	LevelsIn(ctx context.Context, p *authn.Principal, workspaceID string) (func(credentialID string) authz.Level, error)
	Role(ctx context.Context, p *authn.Principal, workspaceID string) (authz.Role, error)
	Grants(ctx context.Context, workspaceID, credentialID string) ([]authz.Grant, error)
	Shared(ctx context.Context, workspaceID string) (map[string]bool, error)
	GrantOwner(ctx context.Context, workspaceID, credentialID, userID string, at time.Time) error
	PutGrant(ctx context.Context, workspaceID, credentialID string, g authz.Grant) error
	RemoveGrant(ctx context.Context, workspaceID, credentialID, grantID string) (bool, error)
	DropCredential(ctx context.Context, workspaceID, credentialID string) error
}

// Workspaces is the workspace check of every service (workspace.Service.Require):
// membership, role and scope, with refusals recorded.
type Workspaces interface {
	Require(ctx context.Context, workspaceID string, act authz.WorkspaceAction, scope authn.Scope) (*authn.Principal, authz.Role, error)
}

// Service implements credential operations; every method authorizes its caller.
type Service struct {
	store Store
	uses  UseCounter
	// returnOrigins are where an authorization may send the person back (AllowReturnTo).
	returnOrigins []string
	workspaces    Workspaces
	authz         Authorizer
	audit         audit.Journal
	conn          Connector
	now           func() time.Time
	log           *slog.Logger
	cache         *cache
	// expiryWarning is how long before expiry a credential is expiring soon (lifecycle.go).
	expiryWarning time.Duration
}

// NewService returns a Service.
func NewService(store Store, uses UseCounter, ws Workspaces, a Authorizer, rec audit.Journal, conn Connector, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store, uses: uses, workspaces: ws, authz: a, audit: rec, conn: conn, now: now, log: log, cache: newCache(store, now)}
}

// WarmCache reads every workspace's credentials into the cache ahead of the
// first requests, on a database with one writer (the embedded one), where the
// first page of any workspace would otherwise wait for a read of every
// credential (seconds at 50,000). Meant for start-up, in the background.
func (s *Service) WarmCache(ctx context.Context) error { return s.cache.warm(ctx) }

// CredentialsWithDeadlines returns every credential, of every live workspace,
// that has an expiry or a rotation period: the deadline scheduler's read
// (package lifecycle), for the system, not for a caller of the API. On the
// embedded database it comes from the cached lists when they are there
// (cache.withDeadlines): a query there decodes every credential of the
// database (FerretDB v1 filters nothing but _id), about a second of CPU at
// 5,000 credentials, in the minute after any credential changed. Elsewhere
// it is the store's indexed query.
func (s *Service) CredentialsWithDeadlines(ctx context.Context) ([]storage.Credential, error) {
	if out, ok, err := s.cache.withDeadlines(ctx); ok || err != nil {
		return out, err
	}
	creds, err := s.store.CredentialsWithDeadlines(ctx)
	if err != nil {
		return nil, err
	}
	// Of live workspaces only, as the lists are.
	ids := make([]string, len(creds))
	for i, c := range creds {
		ids[i] = c.WorkspaceID
	}
	live, err := s.store.WorkspacesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(creds, func(c storage.Credential) bool {
		return !slices.ContainsFunc(live, func(w storage.Workspace) bool { return w.ID == c.WorkspaceID })
	}), nil
}

// ObserveCache sets a function told of every credential cache look-up's hit
// or miss (metrics). Call it before the Service is used.
func (s *Service) ObserveCache(fn func(hit bool)) { s.cache.observe = fn }

// View is a credential together with the caller's access to it.
type View struct {
	Credential storage.Credential
	Type       *provider.Type
	Level      authz.Level
	// entry is the cached read the view came from (nil for a credential this
	// request wrote): Fields takes the secrets' hints from it.
	entry *entry
	// at is the service's clock when a view of an entry was made: its status
	// is the status at that time, so that Rendered can file renderings under it.
	at time.Time
}

// Rendered returns where the API may keep its renderings of the credential
// as this view shows it: the cache of the version the view was read at, and
// the variant a rendering for this request is filed under, which holds
// everything beyond the version that the kept fields depend on: the viewer's
// access level (viewerAccess, and what fields shows), whether the caller may
// read (Fields), and whether the credential had expired when the view was
// made (status and statusMessage are the version's at that time). A field
// that comes to depend on more must add it here, or be left out of the
// renderings kept (internal/gqlexec/gqlgen/rendered.go). false for a view not
// read from the cache (one this request wrote).
func (v View) Rendered(ctx context.Context) (*rendered.Cache, string, bool) {
	if v.entry == nil || v.at.IsZero() {
		return nil, "", false
	}
	variant := []byte{byte('0' + v.Level), '-', 'a'}
	if p := authn.PrincipalFrom(ctx); p != nil && p.HasScope(authn.ScopeRead) {
		variant[1] = 'r'
	}
	if e := v.Credential.ExpiresAt; e != nil && !e.After(v.at) {
		variant[2] = 'x'
	}
	return v.entry.renderings(), string(variant), true
}

// Status returns the credential's status and message at the service's clock.
func (s *Service) Status(v View) (string, *string) {
	now := v.at
	if now.IsZero() {
		now = s.now()
	}
	return Status(v.Credential.ExpiresAt, v.Credential.LastError, now)
}

// CreateInput is createCredential's input.
type CreateInput struct {
	WorkspaceID string
	Type        string
	Name        string
	Fields      []FieldInput
	ExpiresAt   *time.Time
	Description *string
	Tags        []string
	// RotationPeriodDays, when set, makes the secrets due for rotation that
	// many days after each change of them.
	RotationPeriodDays *int
}

// Create stores a new credential owned by the caller, who must be a member of the workspace.
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	p, _, err := s.workspaces.Require(ctx, in.WorkspaceID, authz.ActWorkspaceRead, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	// Every mistake of the input at once: one error per field at fault.
	var errs []*apierror.Error
	t, ok := provider.Lookup(strings.TrimSpace(in.Type))
	if !ok {
		errs = append(errs, apierror.InvalidBecause("type", apierror.ReasonNotAnOption, nil, "unknown credential type (see credentialTypes)"))
	}
	name, err := names.Name(in.Name)
	if errs, err = apierror.Collect(errs, err); err != nil {
		return View{}, err
	}
	description, tags, labelErrs := validateLabels(in.Description, in.Tags)
	errs = append(errs, labelErrs...)
	if e := validRotationPeriod(in.RotationPeriodDays); e != nil {
		errs = append(errs, e)
	}
	var values Values
	if t != nil {
		values, err = ValidateCreate(t, in.Fields)
		if errs, err = apierror.Collect(errs, err); err != nil {
			return View{}, err
		}
	}
	if len(errs) > 0 {
		return View{}, apierror.Join(errs)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	c := storage.Credential{
		ID: id.String(), WorkspaceID: in.WorkspaceID, Name: name, NameKey: nameKey(name), Type: t.Key,
		OwnerID: p.UserID, Fields: values.Plain, SecretKeys: secretKeys(values), Version: 1,
		Description: description, Tags: tags,
		ExpiresAt: utc(in.ExpiresAt), CreatedAt: now, UpdatedAt: now,
		SecretVersion: 1, SecretsChangedAt: &now, SecretsChangedBy: p.UserID, SecretsChangedFields: secretKeys(values),
	}
	if in.RotationPeriodDays != nil {
		c.RotationPeriodDays = *in.RotationPeriodDays
	}
	entry := credentialEntry(c, audit.CredentialCreated,
		audit.Detail("type", t.Key), audit.Detail("fields", strings.Join(fieldKeys(values), ",")))
	// The owner rule goes first and the credential last: the credential exists
	// only once its insert is acknowledged, so a failure at any step (the
	// database going away between two writes included) leaves at most a rule
	// for an id nobody will ever see, never a credential the caller was told
	// was not created.
	err = audit.Do(ctx, s.audit, entry, func() error {
		if err := s.authz.GrantOwner(ctx, c.WorkspaceID, c.ID, p.UserID, now); err != nil {
			return err
		}
		if err := s.store.InsertCredential(ctx, c, values.Secret); err != nil {
			if errors.Is(err, storage.ErrNameTaken) {
				undo.Run(ctx, s.log, "drop owner rule", func(ctx context.Context) error { return s.authz.DropCredential(ctx, c.WorkspaceID, c.ID) })
				return nameTaken(name)
			}
			// The insert may have been applied with its acknowledgement lost (the
			// database went away mid-reply): it is taken back until that is
			// certain, so a credential the caller was told was not created never
			// appears. Its id is new, so the delete touches nothing else.
			undo.Retry(ctx, s.log, "remove a credential whose creation failed", func(ctx context.Context) error {
				if err := s.store.DeleteCredential(ctx, c.WorkspaceID, c.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				return s.authz.DropCredential(ctx, c.WorkspaceID, c.ID)
			})
			return err
		}
		return nil
	})
	if err != nil {
		return View{}, err
	}
	return View{Credential: c, Type: t, Level: authz.LevelManage}, nil
}

// Get returns a credential the caller can at least USE; NOT_FOUND otherwise.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	return s.require(ctx, id, authz.LevelUse, authn.ScopeRead)
}

// requireFull is require that also returns the decrypted secrets, from the same read.
func (s *Service) requireFull(ctx context.Context, id string, need authz.Level, scope authn.Scope) (View, map[string]redact.Secret, error) {
	v, err := s.require(ctx, id, need, scope)
	if err != nil {
		return View{}, nil, err
	}
	secrets, err := s.store.Unseal(ctx, v.entry.sealed)
	if err != nil {
		return View{}, nil, err
	}
	return v, secrets, nil
}

// require loads a credential and checks the caller's level: no access at all
// reads as NOT_FOUND (existence is not revealed), too little as FORBIDDEN.
//
// Every refusal of an existing credential is recorded as ACCESS_DENIED in its
// workspace's log (within the bounds of the denial limiter).
func (s *Service) require(ctx context.Context, id string, need authz.Level, scope authn.Scope) (View, error) {
	p, err := authn.RequirePrincipal(ctx)
	if err != nil {
		return View{}, err
	}
	e, err := s.cache.get(ctx, id)
	var c storage.Credential
	if e != nil {
		c = e.credential()
	}
	if errors.Is(err, storage.ErrNotFound) {
		if !p.HasScope(scope) {
			_, err := authn.RequireScope(ctx, scope)
			return View{}, err
		}
		return View{}, apierror.NotFoundErr("credential")
	}
	if err != nil {
		return View{}, err
	}
	if !p.HasScope(scope) {
		s.denied(ctx, c, "scope "+string(scope)+" missing")
		_, err := authn.RequireScope(ctx, scope)
		return View{}, err
	}
	level, err := s.authz.Level(ctx, p, c.WorkspaceID, c.ID)
	if err != nil {
		return View{}, err
	}
	if level == authz.LevelNone {
		s.denied(ctx, c, "no access")
		return View{}, apierror.NotFoundErr("credential")
	}
	if level < need {
		s.denied(ctx, c, "needs "+need.String()+", has "+level.String())
		return View{}, apierror.ForbiddenErr("this needs %s access to the credential; you have %s", need, level)
	}
	t, ok := provider.Lookup(c.Type)
	if !ok {
		return View{}, errors.New("credential has unknown type " + c.Type)
	}
	return View{Credential: c, Type: t, Level: level, entry: e, at: s.now()}, nil
}

// Fields returns a credential's fields with secrets masked (VIEW).
func (s *Service) Fields(ctx context.Context, v View) ([]FieldView, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	if v.Level < authz.LevelView {
		return nil, apierror.ForbiddenErr("reading fields needs VIEW access to the credential")
	}
	if v.entry != nil {
		return v.entry.fieldViews(ctx, s.store, v.Type)
	}
	secrets, err := loaders.From(ctx, s.store, s.uses).Secrets.Load(ctx, v.Credential.ID)
	if err != nil {
		return nil, err
	}
	return Mask(v.Type, Values{Plain: v.Credential.Fields, Secret: secrets}), nil
}

// Uses returns a credential's use counters, read when asked for: they move
// with every use, on every instance, so no cache holds them.
func (s *Service) Uses(ctx context.Context, v View) (Uses, error) {
	u, err := loaders.From(ctx, s.store, s.uses).Uses.Load(ctx, storage.CredentialRef{WorkspaceID: v.Credential.WorkspaceID, ID: v.Credential.ID})
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return Uses{}, nil // deleted since: nothing more to count
	}
	return Uses{UseCount: u.UseCount, LastUsedAt: u.LastUsedAt}, err
}

// Grants lists a credential's grants (MANAGE).
func (s *Service) Grants(ctx context.Context, v View) ([]authz.Grant, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	if v.Level < authz.LevelManage {
		return nil, apierror.ForbiddenErr("reading grants needs MANAGE access to the credential")
	}
	return s.authz.Grants(ctx, v.Credential.WorkspaceID, v.Credential.ID)
}

// Shared reports whether a credential has at least one grant.
func (s *Service) Shared(ctx context.Context, v View) (bool, error) {
	shared, err := s.authz.Shared(ctx, v.Credential.WorkspaceID)
	if err != nil {
		return false, err
	}
	return shared[v.Credential.ID], nil
}

// UpdateInput is updateCredential's input.
type UpdateInput struct {
	ID              string
	Name            *string
	Fields          []FieldInput
	FieldsGiven     bool
	ExpiresAt       *time.Time
	ExpiresAtGiven  bool // with ExpiresAt nil: clear the expiry
	ExpectedVersion *int64
	// Description nil keeps it ("" clears it); Tags nil keeps them (empty clears them).
	Description *string
	Tags        []string
	// RotationPeriodDays, when Given, sets the rotation period (nil clears it).
	RotationPeriodDays      *int
	RotationPeriodDaysGiven bool
}

// Update changes a credential (MANAGE): name, expiry and fields (merged).
func (s *Service) Update(ctx context.Context, in UpdateInput) (View, error) {
	v, err := s.require(ctx, in.ID, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	c := v.Credential
	if in.ExpectedVersion != nil && *in.ExpectedVersion != c.Version {
		return View{}, versionConflict()
	}
	// Every mistake of the input at once: the name's and the fields'.
	var errs []*apierror.Error
	if in.Name != nil {
		name, err := names.Name(*in.Name)
		if errs, err = apierror.Collect(errs, err); err != nil {
			return View{}, err
		}
		c.Name, c.NameKey = name, nameKey(name)
	}
	if in.ExpiresAtGiven {
		c.ExpiresAt = utc(in.ExpiresAt)
	}
	if in.RotationPeriodDaysGiven {
		if e := validRotationPeriod(in.RotationPeriodDays); e != nil {
			errs = append(errs, e)
		} else {
			c.RotationPeriodDays = 0 // null clears it
			if in.RotationPeriodDays != nil {
				c.RotationPeriodDays = *in.RotationPeriodDays
			}
		}
	}
	if in.Description != nil || in.Tags != nil {
		description, tags, labelErrs := validateLabels(in.Description, in.Tags)
		errs = append(errs, labelErrs...)
		if in.Description != nil {
			c.Description = description
		}
		if in.Tags != nil {
			c.Tags = tags
		}
	}
	var secrets map[string]redact.Secret
	var changed []string
	if in.Name != nil && c.Name != v.Credential.Name {
		changed = append(changed, "name")
	}
	if in.ExpiresAtGiven && !sameTime(c.ExpiresAt, v.Credential.ExpiresAt) {
		changed = append(changed, "expiresAt")
	}
	if c.Description != v.Credential.Description {
		changed = append(changed, "description")
	}
	if !slices.Equal(c.Tags, v.Credential.Tags) {
		changed = append(changed, "tags")
	}
	if c.RotationPeriodDays != v.Credential.RotationPeriodDays {
		changed = append(changed, "rotationPeriodDays")
	}
	var details []storage.AuditDetail
	if in.FieldsGiven && len(in.Fields) > 0 {
		if !v.Type.Editable {
			return View{}, &apierror.Error{Code: apierror.NotEditable,
				Message: v.Type.Name + " credentials cannot be edited after creation; delete and recreate it (the name can still change)"}
		}
		current, err := loaders.From(ctx, s.store, s.uses).Secrets.Load(ctx, c.ID)
		if err != nil {
			return View{}, err
		}
		before := Values{Plain: c.Fields, Secret: current}
		merged, keys, err := ValidateUpdate(v.Type, before, in.Fields)
		if err != nil {
			if errs, err = apierror.Collect(errs, err); err != nil {
				return View{}, err
			}
			return View{}, apierror.Join(errs)
		}
		moved, err := checkDestination(v.Type, before, keys, in.Fields)
		if err != nil {
			return View{}, err
		}
		for _, k := range moved { // destinations are not secret: the entry says where from and to
			details = append(details, audit.Detail("from."+k, c.Fields[k]), audit.Detail("to."+k, merged.Plain[k]))
		}
		var secretChanged []string
		for _, k := range keys {
			changed = append(changed, "fields."+k)
			_, was := current[k]
			_, is := merged.Secret[k]
			if was || is {
				secretChanged = append(secretChanged, k)
			}
		}
		c.Fields, c.SecretKeys = merged.Plain, secretKeys(merged)
		if len(secretChanged) > 0 {
			// New secret values: a new version (the stored ones are kept as the previous).
			secrets, c.SecretsChangedFields = merged.Secret, secretChanged
			if p, err := authn.RequirePrincipal(ctx); err == nil {
				c.SecretsChangedBy = p.UserID
			}
		}
	}
	if len(errs) > 0 {
		return View{}, apierror.Join(errs)
	}
	if len(changed) == 0 {
		// Nothing differs: no new version, no entry.
		return v, nil
	}
	c.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
	entry := credentialEntry(v.Credential, audit.CredentialUpdated, append([]storage.AuditDetail{audit.Detail("changed", strings.Join(changed, ","))}, details...)...)
	return s.writeCredential(ctx, v, c, secrets, entry, nil)
}

// writeCredential records entry, then stores c (and secrets, when not nil) if the
// credential is still at v's version, then runs after (if any): the one write
// of an update, a rollback and a promotion. Storage errors become the API's.
func (s *Service) writeCredential(ctx context.Context, v View, c storage.Credential, secrets map[string]redact.Secret, entry audit.Entry, after func() error) (View, error) {
	var updated storage.Credential
	err := audit.Do(ctx, s.audit, entry, func() (err error) {
		if updated, err = s.store.UpdateCredential(ctx, c, secrets, v.Credential.Version); err != nil || after == nil {
			return err
		}
		return after()
	})
	switch {
	case errors.Is(err, storage.ErrNameTaken):
		return View{}, nameTaken(c.Name)
	case errors.Is(err, storage.ErrConflict):
		return View{}, versionConflict()
	case errors.Is(err, storage.ErrNotFound):
		return View{}, apierror.NotFoundErr("credential")
	case err != nil:
		return View{}, err
	}
	loaders.From(ctx, s.store, s.uses).Secrets.Clear(c.ID)
	return View{Credential: updated, Type: v.Type, Level: v.Level}, nil
}

// Delete removes a credential (MANAGE) and then its usages and rules. A
// credential with consumers is CREDENTIAL_IN_USE unless force is set.
func (s *Service) Delete(ctx context.Context, id string, force bool) error {
	v, err := s.require(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return err
	}
	usages, err := s.store.UsagesOf(ctx, id)
	if err != nil {
		return err
	}
	if len(usages) > 0 && !force {
		return inUse(usages)
	}
	entry := credentialEntry(v.Credential, audit.CredentialDeleted, audit.Detail("consumers", strconv.Itoa(len(usages))))
	if force {
		entry.Details = append(entry.Details, audit.Detail("force", "true"))
	}
	err = audit.Do(ctx, s.audit, entry, func() error {
		if err := s.store.DeleteCredential(ctx, v.Credential.WorkspaceID, id); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return apierror.NotFoundErr("credential")
			}
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The credential is gone, so its usages and rules mean nothing; removing them is tidying.
	if err := s.store.DeleteUsagesOf(ctx, id); err != nil {
		s.log.WarnContext(ctx, "remove usages of deleted credential", "credential", id, "error", err)
	}
	if err := s.authz.DropCredential(ctx, v.Credential.WorkspaceID, id); err != nil {
		s.log.WarnContext(ctx, "remove rules of deleted credential", "credential", id, "error", err)
	}
	return nil
}

// ShareInput is shareCredential's input.
type ShareInput struct {
	CredentialID string
	Kind         authz.GranteeKind
	UserID       *string
	Level        authz.Level
}

// Share grants a member (USER) or every member (WORKSPACE) a level (MANAGE).
// Sharing again with the same grantee replaces the level.
func (s *Service) Share(ctx context.Context, in ShareInput) (View, error) {
	v, err := s.require(ctx, in.CredentialID, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	p, _ := authn.RequirePrincipal(ctx)
	if in.Level < authz.LevelUse || in.Level > authz.LevelManage {
		return View{}, apierror.Invalid("level", "unknown access level")
	}
	g := authz.Grant{Kind: in.Kind, Level: in.Level, GrantedBy: p.UserID, GrantedAt: s.now().UTC().Truncate(time.Millisecond)}
	switch in.Kind {
	case authz.GranteeUser:
		if in.UserID == nil || strings.TrimSpace(*in.UserID) == "" {
			return View{}, apierror.Invalid("userId", "userId is required to share with a user")
		}
		g.UserID = strings.TrimSpace(*in.UserID)
		role, err := s.authz.Role(ctx, &authn.Principal{UserID: g.UserID}, v.Credential.WorkspaceID)
		if err != nil {
			return View{}, err
		}
		if role == "" {
			return View{}, apierror.Invalid("userId", "the user is not a member of this workspace")
		}
	case authz.GranteeWorkspace:
		if in.UserID != nil && *in.UserID != "" {
			return View{}, apierror.Invalid("userId", "userId must be empty when sharing with the whole workspace")
		}
	default:
		return View{}, apierror.Invalid("granteeKind", "unknown grantee kind")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	g.ID = id.String()
	entry := credentialEntry(v.Credential, audit.CredentialShared, audit.Detail("grantId", g.ID),
		audit.Detail("granteeKind", string(g.Kind)), audit.Detail("level", g.Level.String()))
	if g.UserID != "" {
		entry.Details = append(entry.Details, audit.Detail("userId", g.UserID))
	}
	if err := audit.Do(ctx, s.audit, entry, func() error {
		return s.authz.PutGrant(ctx, v.Credential.WorkspaceID, v.Credential.ID, g)
	}); err != nil {
		return View{}, err
	}
	return s.reload(ctx, v)
}

// Unshare revokes a grant (MANAGE); NOT_FOUND when the credential has no such grant.
func (s *Service) Unshare(ctx context.Context, credentialID, grantID string) (View, error) {
	v, err := s.require(ctx, credentialID, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	grants, err := s.authz.Grants(ctx, v.Credential.WorkspaceID, credentialID)
	if err != nil {
		return View{}, err
	}
	if !slices.ContainsFunc(grants, func(g authz.Grant) bool { return g.ID == grantID }) {
		return View{}, apierror.NotFoundErr("grant")
	}
	entry := credentialEntry(v.Credential, audit.CredentialUnshared, audit.Detail("grantId", grantID))
	if err := audit.Do(ctx, s.audit, entry, func() error {
		found, err := s.authz.RemoveGrant(ctx, v.Credential.WorkspaceID, credentialID, grantID)
		if err == nil && !found {
			return apierror.NotFoundErr("grant")
		}
		return err
	}); err != nil {
		return View{}, err
	}
	return s.reload(ctx, v)
}

// reload recomputes the caller's level after a change of rules (they may have
// shared with or unshared from themselves).
func (s *Service) reload(ctx context.Context, v View) (View, error) {
	p, _ := authn.RequirePrincipal(ctx)
	level, err := s.authz.Level(ctx, p, v.Credential.WorkspaceID, v.Credential.ID)
	if err != nil {
		return View{}, err
	}
	v.Level = level
	return v, nil
}

// nameKey is what makes two credential names the same name (SPEC.md §8):
// look-alikes under NFKC and case folding clash.
func nameKey(name string) string { return names.FoldKey(name) }

// credentialEntry is an audit entry about a credential.
func credentialEntry(c storage.Credential, a audit.Action, details ...storage.AuditDetail) audit.Entry {
	return audit.Entry{WorkspaceID: c.WorkspaceID, Action: a, Outcome: audit.Success,
		TargetType: audit.TargetCredential, TargetID: c.ID, TargetName: c.Name, Details: details}
}

// denied records a refused attempt on a credential, in the budget of members
// or of outsiders of its workspace.
func (s *Service) denied(ctx context.Context, c storage.Credential, reason string) {
	e := credentialEntry(c, audit.AccessDenied, audit.Detail("reason", reason))
	if p := authn.PrincipalFrom(ctx); p != nil {
		role, err := s.authz.Role(ctx, &authn.Principal{UserID: p.UserID}, c.WorkspaceID)
		e.Outsider = err != nil || role == ""
	}
	s.audit.Denied(ctx, e)
}

// fieldKeys lists the keys of set fields, sorted (names only).
func fieldKeys(v Values) []string {
	keys := make([]string, 0, len(v.Plain)+len(v.Secret))
	for k := range v.Plain {
		keys = append(keys, k)
	}
	for k := range v.Secret {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func nameTaken(name string) error {
	return &apierror.Error{Code: apierror.Conflict, Field: "name",
		Message: "a credential named " + quote(name) + " already exists in this workspace"}
}

func versionConflict() error {
	return apierror.ConflictErr("the credential was changed since you read it (expectedVersion is not the current version); read it again")
}

func quote(s string) string { return "\"" + s + "\"" }

func secretKeys(v Values) []string {
	keys := make([]string, 0, len(v.Secret))
	for k := range v.Secret {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sameTime(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

// AuditTrail returns a page of the entries about a credential, newest first
// (MANAGE; an API token also needs AUDIT_READ).
func (s *Service) AuditTrail(ctx context.Context, v View, page pagination.Args) (audit.Page, error) {
	if _, err := authn.RequireScope(ctx, authn.ScopeAuditRead); err != nil {
		return audit.Page{}, err
	}
	if v.Level < authz.LevelManage {
		s.denied(ctx, v.Credential, "audit trail needs MANAGE, has "+v.Level.String())
		return audit.Page{}, apierror.ForbiddenErr("reading the audit trail needs MANAGE access to the credential")
	}
	return s.audit.List(ctx, audit.Query{Log: v.Credential.WorkspaceID, TargetID: v.Credential.ID}, page)
}
