package credential

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

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
	// Tags: every one of them.
	Tags []string
	// UnusedForDays: never used, or not used for this many days.
	UnusedForDays *int
	// ExpiringWithinDays: not expired, and expiring within this many days.
	ExpiringWithinDays *int
	// RotationDue: whose rotation is due (true) or not (false).
	RotationDue *bool
}

// MaxUnusedForDays bounds Filter.UnusedForDays (ten years).
const MaxUnusedForDays = 3650

// Page is one page of a credential list.
type Page struct {
	Items      []View
	TotalCount int
	Info       pagination.Info
	at         []cursor // the items' positions
}

// Cursor returns the cursor of item i, encoded when asked for: most pages
// are read without their items' cursors.
func (p *Page) Cursor(i int) string { return p.at[i].encode() }

// ListInput asks for one page of a workspace's credentials.
type ListInput struct {
	WorkspaceID string
	Filter      Filter
	Order       Order
	Page        pagination.Args
}

// Order is a list's sort order; the zero Order is by name, ascending. Ties
// are broken by id; credentials without a value of the field (never used, no
// expiry) come last in either direction.
type Order struct {
	Field string // OrderName (""), OrderCreatedAt, ...
	Desc  bool
}

// Order fields.
const (
	OrderName       = "NAME"
	OrderCreatedAt  = "CREATED_AT"
	OrderUpdatedAt  = "UPDATED_AT"
	OrderLastUsedAt = "LAST_USED_AT"
	OrderExpiresAt  = "EXPIRES_AT"
	OrderStatus     = "STATUS"
	OrderType       = "TYPE"
)

// List returns the workspace's credentials the caller can at least USE,
// filtered, sorted by in.Order, one page after or before the cursor.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	workspaceID, f, order := in.WorkspaceID, in.Filter, in.Order
	if order.Field == "" {
		order.Field = OrderName
	}
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
		if after, err = decodeCursor("after", req.After, order); err != nil {
			return Page{}, err
		}
	}
	if req.Before != "" {
		if before, err = decodeCursor("before", req.Before, order); err != nil {
			return Page{}, err
		}
	}
	types, err := typeFilter(f)
	if err != nil {
		return Page{}, err
	}
	if d := f.UnusedForDays; d != nil && (*d < 1 || *d > MaxUnusedForDays) {
		return Page{}, apierror.InvalidBecause("filter.unusedForDays", apierror.ReasonOutOfRange, map[string]any{"min": 1, "max": MaxUnusedForDays},
			"unusedForDays must be between 1 and %d", MaxUnusedForDays)
	}
	if d := f.ExpiringWithinDays; d != nil && (*d < 1 || *d > MaxUnusedForDays) {
		return Page{}, apierror.InvalidBecause("filter.expiringWithinDays", apierror.ReasonOutOfRange, map[string]any{"min": 1, "max": MaxUnusedForDays},
			"expiringWithinDays must be between 1 and %d", MaxUnusedForDays)
	}
	entries, err := s.cache.list(ctx, workspaceID)
	if err != nil {
		return Page{}, err
	}
	levelOf, err := s.authz.LevelsIn(ctx, p, workspaceID)
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
	// The filters read the cached entries in place: a View (a copy of the
	// credential) is made only for the page's items.
	visible := make([]listed, 0, len(entries))
	for _, e := range entries {
		c := &e.cred
		if types != nil && !types[c.Type] {
			continue
		}
		if search != "" && !matches(c, search) {
			continue
		}
		if len(f.Tags) > 0 && !hasTags(c.Tags, f.Tags) {
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
		if d := f.ExpiringWithinDays; d != nil && !expiringWithin(*c, now, time.Duration(*d)*24*time.Hour) {
			continue
		}
		if f.RotationDue != nil && rotationDue(*c, now) != *f.RotationDue {
			continue
		}
		if e.typ == nil {
			continue // a type this build does not know
		}
		level := levelOf(c.ID)
		if level == authz.LevelNone {
			continue
		}
		visible = append(visible, listed{entry: e, level: level})
	}
	// Use counters are read (one query per workspace) only when asked for.
	var lastUsed map[string]*time.Time
	if f.UnusedForDays != nil || order.Field == OrderLastUsedAt {
		if lastUsed, err = s.lastUsed(ctx, visible); err != nil {
			return Page{}, err
		}
	}
	if f.UnusedForDays != nil {
		visible = unusedSince(visible, lastUsed, now.Add(-time.Duration(*f.UnusedForDays)*24*time.Hour))
	}
	at := func(i int) cursor {
		return cursor{order: order, value: visible[i].cred.NameKey, id: visible[i].cred.ID}
	}
	if order != (Order{Field: OrderName}) {
		// The cache keeps lists in name order (newList); any other
		// order sorts them.
		sorted := positions(visible, order, lastUsed, now)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].at.less(sorted[j].at) })
		for i, p := range sorted {
			visible[i] = p.listed
		}
		at = func(i int) cursor { return sorted[i].at }
	}

	from, to := 0, len(visible)
	if after != nil {
		from = sort.Search(len(visible), func(i int) bool { return after.less(at(i)) })
	}
	if before != nil {
		to = sort.Search(len(visible), func(i int) bool { return !at(i).less(*before) })
	}
	start, end, info := req.Window(len(visible), from, to)
	page := Page{TotalCount: len(visible), Info: info, Items: make([]View, 0, end-start), at: make([]cursor, 0, end-start)}
	for i := start; i < end; i++ {
		l := visible[i]
		page.Items = append(page.Items, View{Credential: l.cred, Type: l.typ, Level: l.level, entry: l.entry, at: now})
		page.at = append(page.at, at(i))
	}
	return page, nil
}

// listed is a cached credential the viewer can use, with the viewer's level.
type listed struct {
	*entry
	level authz.Level
}

// matches reports whether search (folded) is in the credential's name,
// description, type name or one of its tags.
func matches(c *storage.Credential, search string) bool {
	if strings.Contains(c.NameKey, search) {
		return true
	}
	if c.Description != "" && strings.Contains(names.FoldKey(c.Description), search) {
		return true
	}
	if t, ok := provider.Lookup(c.Type); ok && strings.Contains(names.FoldKey(t.Name), search) {
		return true
	}
	return slices.ContainsFunc(c.Tags, func(tag string) bool { return strings.Contains(tag, search) })
}

// hasTags reports whether have holds every tag of want.
func hasTags(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// lastUsed reads when each credential was last used (nil: never).
func (s *Service) lastUsed(ctx context.Context, creds []listed) (map[string]*time.Time, error) {
	if len(creds) == 0 {
		return nil, nil
	}
	refs := make([]storage.CredentialRef, len(creds))
	for i, l := range creds {
		refs[i] = storage.CredentialRef{WorkspaceID: l.cred.WorkspaceID, ID: l.cred.ID}
	}
	uses, err := s.uses.CredentialUses(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*time.Time, len(refs))
	for _, r := range refs {
		out[r.ID] = uses[r].LastUsedAt
	}
	return out, nil
}

// unusedSince keeps the credentials never used, or last used before since.
func unusedSince(creds []listed, lastUsed map[string]*time.Time, since time.Time) []listed {
	out := creds[:0]
	for _, l := range creds {
		if last := lastUsed[l.cred.ID]; last == nil || last.Before(since) {
			out = append(out, l)
		}
	}
	return out
}

// positioned is a credential with its position in the order.
type positioned struct {
	listed
	at cursor
}

// positions places the credentials in order (lastUsed: for LAST_USED_AT).
func positions(creds []listed, order Order, lastUsed map[string]*time.Time, now time.Time) []positioned {
	at := func(t *time.Time) (string, bool) {
		if t == nil {
			return "", true
		}
		return fmt.Sprintf("%020d", t.UnixNano()), false
	}
	out := make([]positioned, len(creds))
	for i, l := range creds {
		c := &l.cred
		k := cursor{order: order, id: c.ID}
		switch order.Field {
		case OrderCreatedAt:
			k.value, k.null = at(&c.CreatedAt)
		case OrderUpdatedAt:
			k.value, k.null = at(&c.UpdatedAt)
		case OrderLastUsedAt:
			k.value, k.null = at(lastUsed[c.ID])
		case OrderExpiresAt:
			k.value, k.null = at(c.ExpiresAt)
		case OrderStatus:
			k.value, _ = Status(c.ExpiresAt, c.LastError, now)
		case OrderType:
			k.value = c.Type
		default:
			k.value = c.NameKey
		}
		out[i] = positioned{listed: l, at: k}
	}
	return out
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

// cursor is a position in an order: the value of the order's field (null
// when the credential has none), then the id.
type cursor struct {
	order Order
	value string
	null  bool
	id    string
}

// less: values in the order's direction, null values last either way, ties by id.
func (c cursor) less(o cursor) bool {
	switch {
	case c.null != o.null:
		return o.null
	case c.value != o.value:
		return (c.value < o.value) != c.order.Desc
	}
	return c.id < o.id
}

const cursorKind = "credential"

func (c cursor) encode() string {
	null, dir := "", "ASC"
	if c.null {
		null = "null"
	}
	if c.order.Desc {
		dir = "DESC"
	}
	return pagination.Cursor(cursorKind, c.order.Field, dir, null, c.value, c.id)
}

// decodeCursor reads a cursor of this list in order (a cursor of another
// order is refused: its position means nothing here).
func decodeCursor(argument, s string, order Order) (*cursor, error) {
	parts, err := pagination.Decode(argument, cursorKind, s, 5)
	if err != nil {
		return nil, err
	}
	dir := "ASC"
	if order.Desc {
		dir = "DESC"
	}
	if parts[4] == "" || parts[2] != "" && parts[2] != "null" {
		return nil, apierror.Invalid(argument, "not a cursor from this list")
	}
	if parts[0] != order.Field || parts[1] != dir {
		return nil, apierror.Invalid(argument, "the cursor is from another order of this list")
	}
	return &cursor{order: order, value: parts[3], null: parts[2] == "null", id: parts[4]}, nil
}
