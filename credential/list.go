package credential

import (
	"context"
	"sort"
	"strings"

	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/names"
	"credkeep/internal/pagination"
	"credkeep/provider"
	"credkeep/storage"
)

// Filter narrows a credential list; nil fields do not filter.
type Filter struct {
	Type          *string
	AuthKind      *provider.AuthKind
	Status        *string
	Search        *string
	Shared        *bool
	OwnedByViewer *bool
}

// Page is one page of a credential list.
type Page struct {
	Items      []View
	Cursors    []string
	TotalCount int
	Info       pagination.Info
}

// ListInput asks for one page of a workspace's credentials.
type ListInput struct {
	WorkspaceID string
	Filter      Filter
	Page        pagination.Args
}

// List returns the workspace's credentials the caller can at least USE, sorted
// by name, filtered, one page after the cursor.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	workspaceID, f := in.WorkspaceID, in.Filter
	p, _, err := s.workspaces.Require(ctx, workspaceID, authz.ActWorkspaceRead, authn.ScopeRead)
	if err != nil {
		return Page{}, err
	}
	req, err := pagination.Parse(in.Page)
	if err != nil {
		return Page{}, err
	}
	var after, before *cursor
	if req.After != "" {
		if after, err = decodeCursor("after", req.After); err != nil {
			return Page{}, err
		}
	}
	if req.Before != "" {
		if before, err = decodeCursor("before", req.Before); err != nil {
			return Page{}, err
		}
	}
	types, err := typeFilter(f)
	if err != nil {
		return Page{}, err
	}
	entries, err := s.cache.list(ctx, workspaceID)
	if err != nil {
		return Page{}, err
	}
	var shared map[string]bool
	if f.Shared != nil {
		if shared, err = s.authz.Shared(ctx, workspaceID); err != nil {
			return Page{}, err
		}
	}
	search := ""
	if f.Search != nil {
		search = names.FoldKey(strings.TrimSpace(*f.Search))
	}
	now := s.now()
	visible := make([]View, 0, len(entries))
	for _, e := range entries {
		c := e.credential()
		if types != nil && !types[c.Type] {
			continue
		}
		if search != "" && !strings.Contains(c.NameKey, search) {
			continue
		}
		if f.OwnedByViewer != nil && (c.OwnerID == p.UserID) != *f.OwnedByViewer {
			continue
		}
		if f.Shared != nil && shared[c.ID] != *f.Shared {
			continue
		}
		if f.Status != nil {
			if st, _ := Status(c.ExpiresAt, c.LastError, now); st != *f.Status {
				continue
			}
		}
		t, ok := provider.Lookup(c.Type)
		if !ok {
			continue
		}
		level, err := s.authz.Level(ctx, p, workspaceID, c.ID)
		if err != nil {
			return Page{}, err
		}
		if level == authz.LevelNone {
			continue
		}
		visible = append(visible, View{Credential: c, Type: t, Level: level, entry: e})
	}
	sort.Slice(visible, func(i, j int) bool { return cursorOf(visible[i].Credential).less(cursorOf(visible[j].Credential)) })

	from, to := 0, len(visible)
	if after != nil {
		from = sort.Search(len(visible), func(i int) bool { return after.less(cursorOf(visible[i].Credential)) })
	}
	if before != nil {
		to = sort.Search(len(visible), func(i int) bool { return !cursorOf(visible[i].Credential).less(*before) })
	}
	start, end, info := req.Window(len(visible), from, to)
	page := Page{Items: visible[start:end], TotalCount: len(visible), Info: info}
	for _, v := range page.Items {
		page.Cursors = append(page.Cursors, cursorOf(v.Credential).encode())
	}
	return page, nil
}

// typeFilter returns the type keys a filter admits, nil for any.
func typeFilter(f Filter) (map[string]bool, error) {
	if f.Type != nil {
		t, ok := provider.Lookup(*f.Type)
		if !ok {
			return nil, apierror.Invalid("filter.type", "unknown credential type %q", *f.Type)
		}
		if f.AuthKind != nil && t.AuthKind != *f.AuthKind {
			return map[string]bool{}, nil
		}
		return map[string]bool{t.Key: true}, nil
	}
	if f.AuthKind == nil {
		return nil, nil
	}
	types := map[string]bool{}
	for _, t := range provider.Types() {
		if t.AuthKind == *f.AuthKind {
			types[t.Key] = true
		}
	}
	return types, nil
}

// cursor is a position in the name order: (name key, id).
type cursor struct{ name, id string }

func cursorOf(c storage.Credential) cursor { return cursor{c.NameKey, c.ID} }

func (c cursor) less(o cursor) bool {
	if c.name != o.name {
		return c.name < o.name
	}
	return c.id < o.id
}

const cursorKind = "credential"

func (c cursor) encode() string { return pagination.Cursor(cursorKind, c.name, c.id) }

func decodeCursor(argument, s string) (*cursor, error) {
	parts, err := pagination.Decode(argument, cursorKind, s, 2)
	if err != nil {
		return nil, err
	}
	if parts[1] == "" {
		return nil, apierror.Invalid(argument, "not a cursor from this list")
	}
	return &cursor{parts[0], parts[1]}, nil
}
