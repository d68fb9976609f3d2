// Package resolvers implements the GraphQL schema. Resolvers are thin: they take
// the arguments, call one service method, and map the result to API types. Rules
// and authorization live in the services.
package resolvers

import (
	"context"

	"credkeep/authz"
	"credkeep/graph"
	"credkeep/workspace"
)

// WorkspaceService is what the resolvers need of the workspace package.
type WorkspaceService interface {
	Create(ctx context.Context, name string) (workspace.View, error)
	Get(ctx context.Context, id string) (workspace.View, error)
	List(ctx context.Context) ([]workspace.View, error)
	Rename(ctx context.Context, id, name string) (workspace.View, error)
	Delete(ctx context.Context, id string) error
	Members(ctx context.Context, workspaceID string) ([]workspace.MemberView, error)
	AddMember(ctx context.Context, workspaceID, userID string, role authz.Role) (workspace.MemberView, error)
	ChangeRole(ctx context.Context, workspaceID, userID string, role authz.Role) (workspace.MemberView, error)
	RemoveMember(ctx context.Context, workspaceID, userID string) error
}

// Resolver is the root of the resolver tree.
type Resolver struct {
	workspaces WorkspaceService
}

// New returns the root resolver.
func New(workspaces WorkspaceService) *Resolver {
	return &Resolver{workspaces: workspaces}
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// Query returns the Query resolvers.
func (r *Resolver) Query() graph.QueryResolver { return &queryResolver{r} }

// Mutation returns the Mutation resolvers.
func (r *Resolver) Mutation() graph.MutationResolver { return &mutationResolver{r} }

// Workspace returns the resolvers of Workspace fields.
func (r *Resolver) Workspace() graph.WorkspaceResolver { return &workspaceResolver{r} }

type queryResolver struct{ *Resolver }
type mutationResolver struct{ *Resolver }
type workspaceResolver struct{ *Resolver }
