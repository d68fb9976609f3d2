// Package resolvers implements the GraphQL schema. Resolvers are thin: they take
// the arguments, call one service method, and map the result to API types. Rules
// and authorization live in the services.
package resolvers

import (
	"context"

	"credkeep/apitoken"
	"credkeep/audit"
	"credkeep/authz"
	"credkeep/credential"
	"credkeep/graph"
	"credkeep/internal/pagination"
	"credkeep/internal/redact"
	"credkeep/webhook"
	"credkeep/workspace"
)

// WorkspaceService is what the resolvers need of the workspace package.
type WorkspaceService interface {
	Create(ctx context.Context, name string) (workspace.View, error)
	Get(ctx context.Context, id string) (workspace.View, error)
	List(ctx context.Context) ([]workspace.View, error)
	Rename(ctx context.Context, id, name string) (workspace.View, error)
	RotateKey(ctx context.Context, id string) (workspace.View, error)
	Delete(ctx context.Context, id string) error
	Members(ctx context.Context, workspaceID string) ([]workspace.MemberView, error)
	AddMember(ctx context.Context, workspaceID, userID string, role authz.Role) (workspace.MemberView, error)
	ChangeRole(ctx context.Context, workspaceID, userID string, role authz.Role) (workspace.MemberView, error)
	RemoveMember(ctx context.Context, workspaceID, userID string) error
	AuditLog(ctx context.Context, workspaceID string, q audit.Query, page pagination.Args) (audit.Page, error)
	VerifyAuditLog(ctx context.Context, workspaceID string) (audit.Verification, error)
	Events(ctx context.Context, workspaceID string, afterSeq *int64) (<-chan workspace.Event, error)
	User(ctx context.Context, id string) (workspace.User, error)
	Users(ctx context.Context, ids []string) (map[string]workspace.User, error)
}

// CredentialService is what the resolvers need of the credential package.
type CredentialService interface {
	Create(ctx context.Context, in credential.CreateInput) (credential.View, error)
	Get(ctx context.Context, id string) (credential.View, error)
	List(ctx context.Context, in credential.ListInput) (credential.Page, error)
	Update(ctx context.Context, in credential.UpdateInput) (credential.View, error)
	Rollback(ctx context.Context, id string, toVersion int64) (credential.View, error)
	SecretVersions(ctx context.Context, v credential.View) ([]credential.SecretVersion, error)
	Delete(ctx context.Context, id string, force bool) error
	Share(ctx context.Context, in credential.ShareInput) (credential.View, error)
	Unshare(ctx context.Context, credentialID, grantID string) (credential.View, error)
	Uses(ctx context.Context, v credential.View) (credential.Uses, error)
	Fields(ctx context.Context, v credential.View) ([]credential.FieldView, error)
	Grants(ctx context.Context, v credential.View) ([]authz.Grant, error)
	Shared(ctx context.Context, v credential.View) (bool, error)
	Status(v credential.View) (string, *string)
	ExpiringSoon(v credential.View) bool
	Use(ctx context.Context, id string, consumer *credential.Consumer) (credential.Released, error)
	Attach(ctx context.Context, credentialID string, c credential.Consumer) (credential.Usage, error)
	Detach(ctx context.Context, credentialID, kind, consumerID string) error
	Usages(ctx context.Context, v credential.View) ([]credential.Usage, error)
	SetDefault(ctx context.Context, workspaceID, purpose string, credentialID *string) error
	Default(ctx context.Context, workspaceID, purpose string) (*credential.View, error)
	AuditTrail(ctx context.Context, v credential.View, page pagination.Args) (audit.Page, error)
	Test(ctx context.Context, id string, pending bool) (credential.TestResult, error)
	Stage(ctx context.Context, id string, fields []credential.FieldInput) (credential.View, error)
	Promote(ctx context.Context, id string) (credential.View, error)
	Discard(ctx context.Context, id string) (credential.View, error)
	Refresh(ctx context.Context, id string) (credential.View, error)
	StartAuthorization(ctx context.Context, id, returnTo string) (credential.Authorization, error)
	Permissions(ctx context.Context, v credential.View) credential.Permissions
	Connection(ctx context.Context, v credential.View) (*credential.Connection, error)
}

// TokenService is what the resolvers need of the tokens package.
type TokenService interface {
	Create(ctx context.Context, in apitoken.CreateInput) (apitoken.Token, redact.Secret, error)
	List(ctx context.Context) ([]apitoken.Token, error)
	Revoke(ctx context.Context, id string) error
	Current(ctx context.Context) (*apitoken.Token, error)
}

// WebhookService is what the resolvers need of the webhook package.
type WebhookService interface {
	Create(ctx context.Context, in webhook.CreateInput) (webhook.Webhook, redact.Secret, error)
	Update(ctx context.Context, in webhook.UpdateInput) (webhook.Webhook, error)
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, workspaceID string) ([]webhook.Webhook, error)
	Deliveries(ctx context.Context, webhookID string, first *int, after *string) (webhook.DeliveryPage, error)
	Redeliver(ctx context.Context, deliveryID string) (webhook.Delivery, error)
}

// Resolver is the root of the resolver tree.
type Resolver struct {
	workspaces  WorkspaceService
	credentials CredentialService
	tokens      TokenService
	webhooks    WebhookService
}

// New returns the root resolver.
func New(workspaces WorkspaceService, credentials CredentialService, tokens TokenService, webhooks WebhookService) *Resolver {
	return &Resolver{workspaces: workspaces, credentials: credentials, tokens: tokens, webhooks: webhooks}
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// Query returns the Query resolvers.
func (r *Resolver) Query() graph.QueryResolver { return &queryResolver{r} }

// Mutation returns the Mutation resolvers.
func (r *Resolver) Mutation() graph.MutationResolver { return &mutationResolver{r} }

// Workspace returns the resolvers of Workspace fields.
func (r *Resolver) Workspace() graph.WorkspaceResolver { return &workspaceResolver{r} }

// Credential returns the resolvers of Credential fields.
func (r *Resolver) Credential() graph.CredentialResolver { return &credentialResolver{r} }

// ApiToken returns the resolvers of ApiToken fields.
func (r *Resolver) ApiToken() graph.ApiTokenResolver { return &apiTokenResolver{r} }

// AuditEntry returns the resolvers of AuditEntry fields.
func (r *Resolver) AuditEntry() graph.AuditEntryResolver { return &auditEntryResolver{r} }

// Viewer returns the resolvers of Viewer fields.
func (r *Resolver) Viewer() graph.ViewerResolver { return &viewerResolver{r} }

// Subscription returns the Subscription resolvers.
func (r *Resolver) Subscription() graph.SubscriptionResolver { return &subscriptionResolver{r} }

// Webhook returns the resolvers of Webhook fields.
func (r *Resolver) Webhook() graph.WebhookResolver { return &webhookResolver{r} }

// Grant returns the resolvers of Grant fields.
func (r *Resolver) Grant() graph.GrantResolver { return &grantResolver{r} }

type queryResolver struct{ *Resolver }
type credentialResolver struct{ *Resolver }
type grantResolver struct{ *Resolver }
type apiTokenResolver struct{ *Resolver }
type viewerResolver struct{ *Resolver }
type auditEntryResolver struct{ *Resolver }
type mutationResolver struct{ *Resolver }
type workspaceResolver struct{ *Resolver }
