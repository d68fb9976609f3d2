package workspace

import (
	"context"
	"errors"
	"strings"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/undo"
	"credkeep/storage"
)

// maxUserIDLen matches the longest JWT subject credkeep accepts.
const maxUserIDLen = 256

// AddMember adds a user to a workspace (OWNER, ADMIN; only an OWNER adds an OWNER).
// The user need not have signed in yet: their record fills in when they do.
func (s *Service) AddMember(ctx context.Context, workspaceID, userID string, role authz.Role) (MemberView, error) {
	_, actor, err := s.Require(ctx, workspaceID, authz.ActMembersManage, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return MemberView{}, err
	}
	userID, err = validUserID(userID)
	if err != nil {
		return MemberView{}, err
	}
	if !role.Valid() {
		return MemberView{}, apierror.Invalid("role", "unknown role")
	}
	if !authz.CanChangeMembership(actor, "", role) {
		return MemberView{}, apierror.ForbiddenErr("only an OWNER may add an OWNER")
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.EnsureUser(ctx, userID, now); err != nil {
		return MemberView{}, err
	}
	if _, err := s.store.Member(ctx, workspaceID, userID); err == nil {
		return MemberView{}, apierror.ConflictErr("the user is already a member of this workspace")
	}
	m := storage.Member{WorkspaceID: workspaceID, UserID: userID, Role: string(role), AddedAt: now, UpdatedAt: now}
	err = audit.Do(ctx, s.audit, memberEntry(workspaceID, userID, audit.MemberAdded, audit.Detail("role", string(role))), func() error {
		if err := s.store.InsertMember(ctx, m); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return apierror.ConflictErr("the user is already a member of this workspace")
			}
			return err
		}
		if role == authz.RoleOwner {
			// After the member became OWNER: the guard list may lag reality, never lead it.
			if err := s.store.AddOwner(ctx, workspaceID, userID); err != nil {
				return err
			}
		}
		return s.policies.MembershipChanged(ctx, workspaceID)
	})
	if err != nil {
		return MemberView{}, err
	}
	m.ID = storage.MemberID(workspaceID, userID)
	return s.withUser(ctx, m)
}

// ChangeRole sets a member's role (OWNER, ADMIN; only an OWNER may change an
// OWNER's role or make one). Demoting the last OWNER is a CONFLICT.
func (s *Service) ChangeRole(ctx context.Context, workspaceID, userID string, role authz.Role) (MemberView, error) {
	_, actor, err := s.Require(ctx, workspaceID, authz.ActMembersManage, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return MemberView{}, err
	}
	if !role.Valid() {
		return MemberView{}, apierror.Invalid("role", "unknown role")
	}
	target, err := s.member(ctx, workspaceID, userID)
	if err != nil {
		return MemberView{}, err
	}
	from := authz.Role(target.Role)
	if !authz.CanChangeMembership(actor, from, role) {
		return MemberView{}, apierror.ForbiddenErr("only an OWNER may change an OWNER's role or make an OWNER")
	}
	if from == role {
		// Nothing to change, but a retry after a failed version bump lands here:
		// bump again so that no instance keeps deciding on the old role.
		if err := s.policies.MembershipChanged(ctx, workspaceID); err != nil {
			return MemberView{}, err
		}
		return s.withUser(ctx, target)
	}
	demote := from == authz.RoleOwner
	if demote {
		if err := s.releaseOwner(ctx, workspaceID, userID); err != nil {
			return MemberView{}, err
		}
	}
	var m storage.Member
	roleSet := false
	entry := memberEntry(workspaceID, userID, audit.MemberRoleChanged, audit.Detail("from", string(from)), audit.Detail("to", string(role)))
	err = audit.Do(ctx, s.audit, entry, func() (err error) {
		if m, err = s.store.SetMemberRole(ctx, workspaceID, userID, string(role), s.now().UTC()); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return apierror.NotFoundErr("member")
			}
			return err
		}
		roleSet = true
		if role == authz.RoleOwner {
			if err := s.store.AddOwner(ctx, workspaceID, userID); err != nil {
				return err
			}
		}
		return s.policies.MembershipChanged(ctx, workspaceID)
	})
	if err != nil {
		if demote && !roleSet {
			// Still an OWNER: back on the guard list (never while demoted: it would lead reality).
			undo.Run(ctx, s.log, "restore owner", func(ctx context.Context) error { return s.store.AddOwner(ctx, workspaceID, userID) })
		}
		return MemberView{}, err
	}
	return s.withUser(ctx, m)
}

// RemoveMember removes a member (OWNER, ADMIN, or the member itself; only an
// OWNER removes another OWNER). Removing the last OWNER is a CONFLICT.
func (s *Service) RemoveMember(ctx context.Context, workspaceID, userID string) error {
	p, actor, err := s.Require(ctx, workspaceID, authz.ActWorkspaceRead, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return err
	}
	target, err := s.member(ctx, workspaceID, userID)
	if err != nil {
		return err
	}
	from := authz.Role(target.Role)
	leaving := userID == p.UserID
	if !leaving && !authz.CanChangeMembership(actor, from, "") {
		if !authz.RoleAllows(actor, authz.ActMembersManage) {
			return apierror.ForbiddenErr("your role in this workspace (%s) does not allow this", actor)
		}
		return apierror.ForbiddenErr("only an OWNER may remove an OWNER")
	}
	if from == authz.RoleOwner {
		if err := s.releaseOwner(ctx, workspaceID, userID); err != nil {
			return err
		}
	}
	removed := false
	entry := memberEntry(workspaceID, userID, audit.MemberRemoved, audit.Detail("role", string(from)))
	if leaving {
		entry.Details = append(entry.Details, audit.Detail("left", "true"))
	}
	err = audit.Do(ctx, s.audit, entry, func() error {
		if err := s.store.DeleteMember(ctx, workspaceID, userID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return apierror.NotFoundErr("member")
			}
			return err
		}
		removed = true
		// The member is gone (and is refused from the next request on); their
		// grants go too, so that rejoining later does not bring them back.
		return s.policies.DropMember(ctx, workspaceID, userID)
	})
	if err != nil && from == authz.RoleOwner && !removed {
		undo.Run(ctx, s.log, "restore owner", func(ctx context.Context) error { return s.store.AddOwner(ctx, workspaceID, userID) })
	}
	return err
}

// memberEntry is an audit entry about a membership.
func memberEntry(workspaceID, userID string, a audit.Action, details ...storage.AuditDetail) audit.Entry {
	return audit.Entry{WorkspaceID: workspaceID, Action: a, Outcome: audit.Success,
		TargetType: audit.TargetMember, TargetID: userID, TargetName: userID, Details: details}
}

// releaseOwner takes userID off the owner guard list before it stops being OWNER.
func (s *Service) releaseOwner(ctx context.Context, workspaceID, userID string) error {
	err := s.store.RemoveOwner(ctx, workspaceID, userID)
	if errors.Is(err, storage.ErrConflict) {
		return apierror.ConflictErr("a workspace must keep at least one OWNER; make another member OWNER first")
	}
	return err
}

func (s *Service) member(ctx context.Context, workspaceID, userID string) (storage.Member, error) {
	m, err := s.store.Member(ctx, workspaceID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Member{}, apierror.NotFoundErr("member")
	}
	return m, err
}

func (s *Service) withUser(ctx context.Context, m storage.Member) (MemberView, error) {
	users, err := s.store.UsersByID(ctx, []string{m.UserID})
	if err != nil {
		return MemberView{}, err
	}
	u, ok := users[m.UserID]
	if !ok {
		u = storage.User{ID: m.UserID}
	}
	return MemberView{User: userOf(u), Role: authz.Role(m.Role), AddedAt: m.AddedAt}, nil
}

func validUserID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", apierror.InvalidBecause("userId", apierror.ReasonRequired, nil, "User must not be empty")
	}
	if len(id) > maxUserIDLen {
		return "", apierror.Invalid("userId", "userId must be at most %d bytes", maxUserIDLen)
	}
	return id, nil
}
