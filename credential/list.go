package credential

import (
	"context"
	"encoding/base64"
	"sort"
	"strings"

	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/names"
	"credkeep/storage"
)

// Page sizes (SPEC.md §4: first between 1 and 200).
const (
	MinPageSize = 1
	MaxPageSize = 200
)

// Filter narrows a credential list; nil fields do not filter.
type Filter struct {
	Type          *string
	AuthKind      *AuthKind
	Status        *string
	Search        *string
	Shared        *bool
	OwnedByViewer *bool
}

// Page is one page of a credential list.
type Page struct {
	Items       []View
	Cursors     []string
	TotalCount  int
	HasNextPage bool
}

// ListInput asks for one page of a workspace's credentials.
type ListInput struct {
	WorkspaceID string
	Filter      Filter
	First       int
	After       *string
}

// List returns the workspace's credentials the caller can at least USE, sorted
// by name, filtered, one page after the cursor.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	workspaceID, f, first, after := in.WorkspaceID, in.Filter, in.First, in.After
	p, err := authz.RequireScope(ctx, authz.ScopeRead)
	if err != nil {
		return Page{}, err
	}
	if first < MinPageSize || first > MaxPageSize {
		return Page{}, apierror.Invalid("first", "first must be between %d and %d", MinPageSize, MaxPageSize)
	}
	var from *cursor
	if after != nil && *after != "" {
		c, ok := decodeCursor(*after)
		if !ok {
			return Page{}, apierror.Invalid("after", "not a cursor from this list")
		}
		from = &c
	}
	role, err := s.authz.Role(ctx, p, workspaceID)
	if err != nil {
		return Page{}, err
	}
	if role == "" {
		return Page{}, apierror.NotFoundErr("workspace")
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
		t, ok := Lookup(c.Type)
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

	start := 0
	if from != nil {
		start = sort.Search(len(visible), func(i int) bool { return from.less(cursorOf(visible[i].Credential)) })
	}
	end := min(start+first, len(visible))
	page := Page{Items: visible[start:end], TotalCount: len(visible), HasNextPage: end < len(visible)}
	for _, v := range page.Items {
		page.Cursors = append(page.Cursors, cursorOf(v.Credential).encode())
	}
	return page, nil
}

// typeFilter returns the type keys a filter admits, nil for any.
func typeFilter(f Filter) (map[string]bool, error) {
	if f.Type != nil {
		t, ok := Lookup(*f.Type)
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
	for _, t := range catalog {
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

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.name + "\x00" + c.id))
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	name, id, ok := strings.Cut(string(b), "\x00")
	if !ok || id == "" {
		return cursor{}, false
	}
	return cursor{name, id}, true
}
