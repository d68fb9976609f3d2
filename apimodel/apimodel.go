// Package apimodel holds the GraphQL types that carry the service's view of an
// object, so that their field resolvers can authorize and load lazily. The
// plain API types are generated into graph/model; storage types never appear here.
package apimodel

import (
	"context"
	"time"

	"credkeep/audit"
	"credkeep/authz"
	"credkeep/credential"
	"credkeep/internal/rendered"
	"credkeep/workspace"
)

// Credential is the API's Credential. Plain fields are copied from the view;
// the rest (fields, grants, owner, ...) are resolved from View on demand.
type Credential struct {
	ID           string
	Name         string
	Description  *string
	Tags         []string
	Version      int
	LastTestedAt *time.Time
	ExpiresAt    *time.Time
	// RotationPeriodDays is nil without a period.
	RotationPeriodDays *int
	CreatedAt          time.Time
	UpdatedAt          time.Time

	View credential.View
	// Owner is the owner as the query's resolver resolved it (nil: resolved
	// on demand, and the credential is rendered afresh).
	Owner *workspace.User
}

// Rendered tells gqlexec where a rendering of the credential may be kept:
// the cache of the version it was read at, filed under what the rendering
// depends on beyond that version — the viewer (credential.View.Rendered) and
// the owner's e-mail and name, which change without a new version. Without
// a resolved owner the credential is rendered afresh.
func (c *Credential) Rendered(ctx context.Context) (*rendered.Cache, string, bool) {
	if c == nil || c.Owner == nil {
		return nil, "", false
	}
	cache, viewer, ok := c.View.Rendered(ctx)
	if !ok {
		return nil, "", false
	}
	return cache, viewer + "\x00" + c.Owner.Email + "\x00" + c.Owner.Name, true
}

// CredentialEdge is the API's CredentialEdge: its cursor is encoded only
// when a query selects it.
type CredentialEdge struct {
	Node *Credential
	page *credential.Page
	i    int
}

// NewCredentialEdge is the edge of item i of page, whose node is node.
func NewCredentialEdge(page *credential.Page, i int, node *Credential) *CredentialEdge {
	return &CredentialEdge{Node: node, page: page, i: i}
}

// Cursor is the item's position in its list.
func (e *CredentialEdge) Cursor() string { return e.page.Cursor(e.i) }

// NewCredential maps a service view to the API type.
func NewCredential(v credential.View) *Credential {
	c := v.Credential
	var description *string
	if c.Description != "" {
		description = &c.Description
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	var period *int
	if c.RotationPeriodDays > 0 {
		period = &c.RotationPeriodDays
	}
	return &Credential{
		RotationPeriodDays: period,
		ID:                 c.ID, Name: c.Name, Description: description, Tags: tags, Version: int(c.Version),
		LastTestedAt: c.LastTestedAt, ExpiresAt: c.ExpiresAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, View: v,
	}
}

// Grant is the API's Grant; users are resolved through loaders.
type Grant struct {
	ID        string
	GrantedAt time.Time

	Grant authz.Grant
}

// APIToken is the API's ApiToken: never the secret, nor its hash.
type APIToken struct {
	ID                   string
	Name                 string
	Prefix               string
	PersistedQueriesOnly bool
	CreatedAt            time.Time
	LastUsedAt           *time.Time
	ExpiresAt            *time.Time

	WorkspaceID string
	ScopeNames  []string
}

// AuditEntry is the API's AuditEntry; actor, action, outcome and details are
// resolved from the stored entry.
type AuditEntry struct {
	ID         string
	Seq        int
	At         time.Time
	TargetType *string
	TargetID   *string
	TargetName *string
	IP         *string
	UserAgent  *string
	Hash       string

	Entry audit.Record
}

// NewAuditEntry maps a stored entry to the API type.
func NewAuditEntry(e audit.Record) *AuditEntry {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	return &AuditEntry{
		ID: e.ID, Seq: int(e.Seq), At: e.At, TargetType: opt(e.TargetType), TargetID: opt(e.TargetID),
		TargetName: opt(e.TargetName), IP: opt(e.IP), UserAgent: opt(e.UserAgent), Hash: e.Hash, Entry: e,
	}
}

// Node methods (the API's Node interface): the id a client fetches again with Query.node.

func (*Credential) IsNode()         {}
func (c *Credential) GetID() string { return c.ID }
func (*Grant) IsNode()              {}
func (g *Grant) GetID() string      { return g.ID }
func (*APIToken) IsNode()           {}
func (t *APIToken) GetID() string   { return t.ID }
func (*AuditEntry) IsNode()         {}
func (e *AuditEntry) GetID() string { return e.ID }
