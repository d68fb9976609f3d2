package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/audit"
	"credkeep/graph/model"
	"credkeep/internal/pagination"
)

func (r *workspaceResolver) AuditLog(ctx context.Context, obj *model.Workspace, filter *model.AuditFilter, first *int, after *string, last *int, before *string) (*model.AuditEntryConnection, error) {
	page, err := r.workspaces.AuditLog(ctx, obj.ID, toAuditQuery(filter), pagination.Args{First: first, After: after, Last: last, Before: before})
	if err != nil {
		return nil, err
	}
	return toAuditConnection(page), nil
}

func (r *credentialResolver) AuditTrail(ctx context.Context, obj *apimodel.Credential, first *int, after *string, last *int, before *string) (*model.AuditEntryConnection, error) {
	page, err := r.credentials.AuditTrail(ctx, obj.View, pagination.Args{First: first, After: after, Last: last, Before: before})
	if err != nil {
		return nil, err
	}
	return toAuditConnection(page), nil
}

func (r *mutationResolver) VerifyAuditLog(ctx context.Context, workspaceID string) (*model.AuditVerification, error) {
	v, err := r.workspaces.VerifyAuditLog(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := &model.AuditVerification{Ok: v.OK, Checked: v.Checked}
	if v.FirstBrokenSeq != nil {
		n := int(*v.FirstBrokenSeq)
		out.FirstBrokenSeq = &n
	}
	return out, nil
}

func (r *auditEntryResolver) Action(ctx context.Context, obj *apimodel.AuditEntry) (model.AuditAction, error) {
	return model.AuditAction(obj.Entry.Action), nil
}

func (r *auditEntryResolver) Outcome(ctx context.Context, obj *apimodel.AuditEntry) (model.AuditOutcome, error) {
	return model.AuditOutcome(obj.Entry.Outcome), nil
}

func (r *auditEntryResolver) Actor(ctx context.Context, obj *apimodel.AuditEntry) (*model.AuditActor, error) {
	e := obj.Entry
	a := &model.AuditActor{Kind: model.ActorKind(e.ActorKind), APITokenID: optional(e.ActorTokenID), APITokenName: optional(e.ActorTokenName)}
	if e.ActorUserID != "" {
		u, err := r.user(ctx, e.ActorUserID)
		if err != nil {
			return nil, err
		}
		a.User = u
	}
	return a, nil
}

func (r *auditEntryResolver) Details(ctx context.Context, obj *apimodel.AuditEntry) ([]*model.AuditDetail, error) {
	out := make([]*model.AuditDetail, len(obj.Entry.Details))
	for i, d := range obj.Entry.Details {
		out[i] = &model.AuditDetail{Key: d.Key, Value: d.Value}
	}
	return out, nil
}

func toAuditQuery(f *model.AuditFilter) audit.Query {
	var q audit.Query
	if f == nil {
		return q
	}
	if f.Action != nil {
		q.Action = string(*f.Action)
	}
	if f.CredentialID != nil {
		q.TargetID = *f.CredentialID
	}
	if f.ActorID != nil {
		q.ActorID = *f.ActorID
	}
	if f.APITokenID != nil {
		q.TokenID = *f.APITokenID
	}
	if f.Outcome != nil {
		q.Outcome = string(*f.Outcome)
	}
	q.Since, q.Until = f.Since, f.Until
	return q
}

func toAuditConnection(p audit.Page) *model.AuditEntryConnection {
	conn := &model.AuditEntryConnection{
		Edges:      make([]*model.AuditEntryEdge, len(p.Entries)),
		PageInfo:   pageInfo(p.Cursors, p.Info),
		TotalCount: p.TotalCount,
	}
	for i, e := range p.Entries {
		conn.Edges[i] = &model.AuditEntryEdge{Cursor: p.Cursors[i], Node: apimodel.NewAuditEntry(e)}
	}
	return conn
}

// pageInfo ends a page at its last cursor.
func pageInfo(cursors []string, info pagination.Info) *model.PageInfo {
	pi := &model.PageInfo{HasNextPage: info.HasNext, HasPreviousPage: info.HasPrevious}
	if len(cursors) > 0 {
		pi.StartCursor, pi.EndCursor = &cursors[0], &cursors[len(cursors)-1]
	}
	return pi
}
