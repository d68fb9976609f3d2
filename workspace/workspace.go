// Package workspace holds the rules of workspaces and their members: who may
// create, rename and delete a workspace, who may add, re-role and remove members,
// and the rule that a workspace always keeps an OWNER.
package workspace

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	"credkeep/internal/undo"
	"credkeep/storage"
)

// Store is what the service needs from storage.
type Store interface {
	CreateDataKey(ctx context.Context, workspaceID string) error
	DeleteDataKey(ctx context.Context, workspaceID string) error
	KeyStore
	InsertWorkspace(ctx context.Context, w storage.Workspace) error
	WorkspacesByID(ctx context.Context, ids []string) ([]storage.Workspace, error)
	RenameWorkspace(ctx context.Context, id, name string, now time.Time) (storage.Workspace, error)
	MarkWorkspaceDeleting(ctx context.Context, id string, now time.Time) error
	DeleteWorkspaceDocuments(ctx context.Context, id string) error
	AddOwner(ctx context.Context, workspaceID, userID string) error
	RemoveOwner(ctx context.Context, workspaceID, userID string) error
	Member(ctx context.Context, workspaceID, userID string) (storage.Member, error)
	InsertMember(ctx context.Context, m storage.Member) error
	SetMemberRole(ctx context.Context, workspaceID, userID, role string, now time.Time) (storage.Member, error)
	DeleteMember(ctx context.Context, workspaceID, userID string) error
	MembersOf(ctx context.Context, workspaceID string) ([]storage.Member, error)
	MembershipsOf(ctx context.Context, userID string) ([]storage.Member, error)
	EnsureUser(ctx context.Context, id string, now time.Time) error
	PolicyVersion(ctx context.Context, workspaceID string) (int64, bool, error)
	loaders.Store
}

// Policies is what the service needs of the authorizer: roles are decided from
// the same per-request snapshot as credential access, and every membership
// change must reach every instance's cached policies.
type Policies interface {
	Role(ctx context.Context, p *authn.Principal, workspaceID string) (authz.Role, error)
	MembershipChanged(ctx context.Context, workspaceID string) error
	DropMember(ctx context.Context, workspaceID, userID string) error
	DropWorkspace(ctx context.Context, workspaceID string) error
}

// Service implements workspace operations for a principal.
type Service struct {
	store    Store
	policies Policies
	audit    audit.Journal
	now      func() time.Time
	log      *slog.Logger

	// Key rotations running in this process, by workspace (keys.go).
	rotMu     sync.Mutex
	rotations map[string]*rotation

	// subs streams events (events.go); nil: no subscriptions.
	subs *Subscriptions
}

// New returns a Service.
func New(store Store, policies Policies, rec audit.Journal, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store, policies: policies, audit: rec, now: now, log: log}
}

// View is a workspace as its viewer sees it.
type View struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	ViewerRole authz.Role
	// KeyRotatedAt is when its data key was last rotated (nil: never).
	KeyRotatedAt *time.Time
	// KeyRotationStartedAt is when the rotation in progress began (nil: none).
	KeyRotationStartedAt *time.Time
}

func viewOf(w storage.Workspace, role authz.Role) View {
	v := View{ID: w.ID, Name: w.Name, CreatedAt: w.CreatedAt, ViewerRole: role, KeyRotatedAt: w.KeyRotatedAt}
	if w.KeyRotation != nil {
		at := w.KeyRotation.StartedAt
		v.KeyRotationStartedAt = &at
	}
	return v
}

// User returns a user by id through the request's loader (one query per
// batch); a user known only by id (never signed in) is still a user.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, err := loaders.From(ctx, s.store, nil).Users.Load(ctx, id)
	if err != nil {
		return User{}, err
	}
	return userOf(u), nil
}

// Users returns the users ids by id, from this instance's copies where it has
// them and one read for the rest; a user known only by id is still a user. A
// page resolves its owners with it before its credentials are rendered, one
// at a time and without a batch to wait for.
func (s *Service) Users(ctx context.Context, ids []string) (map[string]User, error) {
	found, err := s.store.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]User, len(ids))
	for _, id := range ids {
		u, ok := found[id]
		if !ok {
			u = storage.User{ID: id}
		}
		out[id] = userOf(u)
	}
	return out, nil
}

// User is a person as credkeep knows them: the id of their JWTs' subject,
// and the e-mail and name their last JWT said.
type User struct {
	ID, Email, Name string
}

func userOf(u storage.User) User { return User{ID: u.ID, Email: u.Email, Name: u.Name} }

// MemberView is a membership with its user.
type MemberView struct {
	User    User
	Role    authz.Role
	AddedAt time.Time
}

// Create makes a workspace with the caller as its OWNER. The data key comes
// first, so a workspace never exists without one; a failure undoes earlier steps.
func (s *Service) Create(ctx context.Context, name string) (View, error) {
	p, err := authn.RequireScope(ctx, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return View{}, err
	}
	if p.Token != nil && p.Token.WorkspaceID != "" {
		return View{}, apierror.ForbiddenErr("this API token is restricted to one workspace")
	}
	name, err = names.Name(name)
	if err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	w := storage.Workspace{ID: id.String(), Name: name, Owners: []string{p.UserID}, CreatedAt: now, UpdatedAt: now}
	err = audit.Do(ctx, s.audit, workspaceEntry(w.ID, w.Name, audit.WorkspaceCreated), func() error {
		if err := s.store.CreateDataKey(ctx, w.ID); err != nil {
			return err
		}
		if err := s.store.InsertWorkspace(ctx, w); err != nil {
			undo.Run(ctx, s.log, "delete data key", func(ctx context.Context) error { return s.store.DeleteDataKey(ctx, w.ID) })
			return err
		}
		m := storage.Member{WorkspaceID: w.ID, UserID: p.UserID, Role: string(authz.RoleOwner), AddedAt: now, UpdatedAt: now}
		if err := s.store.InsertMember(ctx, m); err != nil {
			undo.Run(ctx, s.log, "delete workspace", func(ctx context.Context) error {
				if err := s.store.DeleteWorkspaceDocuments(ctx, w.ID); err != nil {
					return err
				}
				return s.store.DeleteDataKey(ctx, w.ID)
			})
			return err
		}
		return nil
	})
	if err != nil {
		return View{}, err
	}
	return viewOf(w, authz.RoleOwner), nil
}

// workspaceEntry is an audit entry about a workspace, in its own log.
func workspaceEntry(id, name string, a audit.Action, details ...storage.AuditDetail) audit.Entry {
	return audit.Entry{WorkspaceID: id, Action: a, Outcome: audit.Success,
		TargetType: audit.TargetWorkspace, TargetID: id, TargetName: name, Details: details}
}

// Get returns a workspace the caller is a member of; NOT_FOUND for any other.
// Workspaces load through the request's loader: a page of credentials asking
// for their workspace costs one query.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	_, role, err := s.Require(ctx, id, authz.ActWorkspaceRead, authn.ScopeRead)
	if err != nil {
		return View{}, err
	}
	w, err := loaders.From(ctx, s.store, nil).Workspaces.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return View{}, apierror.NotFoundErr("workspace")
	}
	if err != nil {
		return View{}, err
	}
	return viewOf(w, role), nil
}

// List returns the caller's workspaces, sorted by name.
func (s *Service) List(ctx context.Context) ([]View, error) {
	p, err := authn.RequireScope(ctx, authn.ScopeRead)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.MembershipsOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	roles := make(map[string]authz.Role, len(ms))
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		if !p.SeesWorkspace(m.WorkspaceID) {
			continue
		}
		roles[m.WorkspaceID] = authz.Role(m.Role)
		ids = append(ids, m.WorkspaceID)
	}
	ws, err := s.store.WorkspacesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(ws))
	for _, w := range ws {
		out = append(out, viewOf(w, roles[w.ID]))
	}
	return out, nil
}

// Rename sets a workspace's name (OWNER, ADMIN).
func (s *Service) Rename(ctx context.Context, id, name string) (View, error) {
	_, role, err := s.Require(ctx, id, authz.ActWorkspaceRename, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return View{}, err
	}
	name, err = names.Name(name)
	if err != nil {
		return View{}, err
	}
	old, err := loaders.From(ctx, s.store, nil).Workspaces.Load(ctx, id)
	switch {
	case errors.Is(err, dataloadgen.ErrNotFound), errors.Is(err, storage.ErrNotFound):
		return View{}, apierror.NotFoundErr("workspace")
	case err != nil:
		return View{}, err // an outage is an outage, not an absent workspace
	}
	var w storage.Workspace
	entry := workspaceEntry(id, name, audit.WorkspaceUpdated, audit.Detail("oldName", old.Name), audit.Detail("newName", name))
	err = audit.Do(ctx, s.audit, entry, func() (err error) {
		w, err = s.store.RenameWorkspace(ctx, id, name, s.now().UTC())
		return err
	})
	loaders.From(ctx, s.store, nil).Workspaces.Clear(id)
	if errors.Is(err, storage.ErrNotFound) {
		return View{}, apierror.NotFoundErr("workspace")
	}
	if err != nil {
		return View{}, err
	}
	return viewOf(w, role), nil
}

// Delete removes a workspace (OWNER). It first hides the workspace, then destroys
// its data key (after which its secrets are unrecoverable), then removes its
// documents. Each step is idempotent, so a failed deletion can simply be retried.
//
// The deletion is recorded twice: as the last entry of the workspace's own log,
// which stays in the audit collection, and in the platform log, where an
// operator finds every deleted workspace.
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, _, err := s.Require(ctx, id, authz.ActWorkspaceDelete, authn.ScopeWorkspacesAdmin); err != nil {
		return err
	}
	name := ""
	if w, err := loaders.From(ctx, s.store, nil).Workspaces.Load(ctx, id); err == nil {
		name = w.Name
	}
	platform := workspaceEntry(id, name, audit.WorkspaceDeleted)
	platform.WorkspaceID = ""
	if err := s.audit.Record(ctx, platform); err != nil {
		return err
	}
	return audit.Do(ctx, s.audit, workspaceEntry(id, name, audit.WorkspaceDeleted), func() error {
		if err := s.store.MarkWorkspaceDeleting(ctx, id, s.now().UTC()); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return apierror.NotFoundErr("workspace")
			}
			return err
		}
		if err := s.store.DeleteDataKey(ctx, id); err != nil {
			return err
		}
		if err := s.policies.DropWorkspace(ctx, id); err != nil {
			return err
		}
		return s.store.DeleteWorkspaceDocuments(ctx, id)
	})
}

// Members lists a workspace's members with their users (any member may read it).
func (s *Service) Members(ctx context.Context, workspaceID string) ([]MemberView, error) {
	if _, _, err := s.Require(ctx, workspaceID, authz.ActWorkspaceRead, authn.ScopeRead); err != nil {
		return nil, err
	}
	ms, err := s.store.MembersOf(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	users, err := s.store.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]MemberView, len(ms))
	for i, m := range ms {
		u, ok := users[m.UserID]
		if !ok {
			u = storage.User{ID: m.UserID}
		}
		out[i] = MemberView{User: userOf(u), Role: authz.Role(m.Role), AddedAt: m.AddedAt}
	}
	return out, nil
}

// Require checks that the caller, within scope, is a member of a live
// workspace whose role allows act: the one workspace check of every service.
// Non-members (and deleted workspaces) get NOT_FOUND, so a workspace's
// existence is not revealed; members without the role get FORBIDDEN. Every
// refusal about a workspace that exists is recorded as ACCESS_DENIED.
func (s *Service) Require(ctx context.Context, workspaceID string, act authz.WorkspaceAction, scope authn.Scope) (*authn.Principal, authz.Role, error) {
	p, err := authn.RequireScope(ctx, scope)
	if err != nil {
		return nil, "", err
	}
	role, err := s.policies.Role(ctx, p, workspaceID)
	if err != nil {
		return nil, "", err
	}
	if role == "" {
		// Recorded only for a workspace that exists (an unknown id has no log).
		if _, ok, err := s.store.PolicyVersion(ctx, workspaceID); err == nil && ok {
			e := workspaceEntry(workspaceID, "", audit.AccessDenied, audit.Detail("reason", "not a member"))
			e.Outsider = true
			s.audit.Denied(ctx, e)
		}
		return nil, "", apierror.NotFoundErr("workspace")
	}
	if !authz.RoleAllows(role, act) {
		s.audit.Denied(ctx, workspaceEntry(workspaceID, "", audit.AccessDenied, audit.Detail("reason", string(act)+" needs another role than "+string(role))))
		return nil, "", apierror.ForbiddenErr("your role in this workspace (%s) does not allow this", role)
	}
	return p, role, nil
}

// AuditLog returns a page of the workspace's audit log, newest first (OWNER,
// ADMIN; an API token also needs AUDIT_READ). q.Log is set here.
func (s *Service) AuditLog(ctx context.Context, workspaceID string, q audit.Query, page pagination.Args) (audit.Page, error) {
	if _, _, err := s.Require(ctx, workspaceID, authz.ActAuditRead, authn.ScopeAuditRead); err != nil {
		return audit.Page{}, err
	}
	q.Log = workspaceID
	return s.audit.List(ctx, q, page)
}

// VerifyAuditLog recomputes the workspace's hash chain (OWNER, ADMIN).
func (s *Service) VerifyAuditLog(ctx context.Context, workspaceID string) (audit.Verification, error) {
	if _, _, err := s.Require(ctx, workspaceID, authz.ActAuditRead, authn.ScopeAuditRead); err != nil {
		return audit.Verification{}, err
	}
	return s.audit.Verify(ctx, workspaceID)
}
