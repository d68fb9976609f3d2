package resolvers

import (
	"context"
	"slices"

	"credkeep/apimodel"
	"credkeep/credential"
	"credkeep/graph/model"
	"credkeep/internal/apierror"
	"credkeep/internal/pagination"
	"credkeep/provider"
)

// Credential answers null, not an error, for a credential the viewer cannot use.
func (r *queryResolver) Credential(ctx context.Context, id string) (*apimodel.Credential, error) {
	v, err := r.credentials.Get(ctx, id)
	if apierror.Is(err, apierror.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := apimodel.NewCredential(v)
	// The owner resolved now lets the credential render from a kept rendering.
	owners, err := r.workspaces.Users(ctx, []string{v.Credential.OwnerID})
	if err != nil {
		return nil, err
	}
	if u, ok := owners[v.Credential.OwnerID]; ok {
		c.Owner = &u
	}
	return c, nil
}

func (r *queryResolver) CredentialTypes(ctx context.Context) ([]*model.CredentialType, error) {
	types := provider.Types()
	out := make([]*model.CredentialType, len(types))
	for i := range types {
		out[i] = toGraphType(&types[i])
	}
	return out, nil
}

func (r *workspaceResolver) Credentials(ctx context.Context, obj *model.Workspace, filter *model.CredentialFilter, orderBy *model.CredentialOrder, first *int, after *string, last *int, before *string) (*model.CredentialConnection, error) {
	page, err := r.credentials.List(ctx, credential.ListInput{
		WorkspaceID: obj.ID, Filter: toFilter(filter), Order: toOrder(orderBy),
		Page: pagination.Args{First: first, After: after, Last: last, Before: before},
	})
	if err != nil {
		return nil, err
	}
	var ends []string // pageInfo reads the first and the last cursor only
	if n := len(page.Items); n > 0 {
		ends = []string{page.Cursor(0), page.Cursor(n - 1)}
	}
	conn := &model.CredentialConnection{
		Edges:      make([]*apimodel.CredentialEdge, len(page.Items)),
		PageInfo:   pageInfo(ends, page.Info),
		TotalCount: page.TotalCount,
	}
	// Owners are resolved here, all of the page's at once: Credential.owner
	// then runs one credential at a time without a batch to wait for (see
	// internal/gqlexec/gqlgen/inline.go), and a credential whose owner is
	// known can be rendered from its kept rendering (apimodel.Credential.Rendered).
	ids := make([]string, 0, 4)
	for _, v := range page.Items {
		if !slices.Contains(ids, v.Credential.OwnerID) {
			ids = append(ids, v.Credential.OwnerID)
		}
	}
	owners, err := r.workspaces.Users(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, v := range page.Items {
		c := apimodel.NewCredential(v)
		if u, ok := owners[v.Credential.OwnerID]; ok {
			c.Owner = &u
		}
		conn.Edges[i] = apimodel.NewCredentialEdge(&page, i, c)
	}
	return conn, nil
}

func toOrder(o *model.CredentialOrder) credential.Order {
	if o == nil {
		return credential.Order{}
	}
	return credential.Order{Field: string(o.Field), Desc: o.Direction != nil && *o.Direction == model.OrderDirectionDesc}
}

func toFilter(f *model.CredentialFilter) credential.Filter {
	if f == nil {
		return credential.Filter{}
	}
	out := credential.Filter{Type: f.Type, Search: f.Search, OwnedByViewer: f.OwnedByViewer, Tags: f.Tags, UnusedForDays: f.UnusedForDays,
		ExpiringWithinDays: f.ExpiringWithinDays, RotationDue: f.RotationDue}
	if f.AuthKind != nil {
		k := provider.AuthKind(*f.AuthKind)
		out.AuthKind = &k
	}
	if f.Status != nil {
		s := string(*f.Status)
		out.Status = &s
	}
	if f.Sharing != nil {
		shared := *f.Sharing == model.SharingScopeShared
		out.Shared = &shared
	}
	return out
}
