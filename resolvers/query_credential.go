package resolvers

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

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
	return apimodel.NewCredential(v), nil
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
	conn := &model.CredentialConnection{
		Edges:      make([]*model.CredentialEdge, len(page.Items)),
		PageInfo:   pageInfo(page.Cursors, page.Info),
		TotalCount: page.TotalCount,
	}
	for i, v := range page.Items {
		conn.Edges[i] = &model.CredentialEdge{Cursor: page.Cursors[i], Node: apimodel.NewCredential(v)}
	}
	// Credential.owner runs one credential at a time (see
	// internal/gqlexec/gqlgen/inline.go): load the page's owners in one batch.
	if selects(ctx, []string{"CredentialConnection", "CredentialEdge", "Credential", "Node"}, "edges", "node", "owner") {
		owners := make([]string, 0, len(page.Items))
		for _, v := range page.Items {
			if !slices.Contains(owners, v.Credential.OwnerID) {
				owners = append(owners, v.Credential.OwnerID)
			}
		}
		if err := r.workspaces.LoadUsers(ctx, owners); err != nil {
			return nil, err
		}
	}
	return conn, nil
}

// selects reports whether the field being resolved selects the path below it,
// directly or through fragments on the types of types.
func selects(ctx context.Context, types []string, path ...string) bool {
	oc := graphql.GetOperationContext(ctx)
	sel := graphql.GetFieldContext(ctx).Field.Selections
	for _, name := range path {
		var below ast.SelectionSet
		found := false
		for _, f := range graphql.CollectFields(oc, sel, types) {
			if f.Name == name {
				below, found = append(below, f.Selections...), true
			}
		}
		if !found {
			return false
		}
		sel = below
	}
	return true
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
