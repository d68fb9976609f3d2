// Package app wires credkeep's parts into one HTTP handler: storage, the
// authenticator, the services, the resolvers and the HTTP surface. The server
// and the end-to-end tests build the handler the same way, through NewHandler.
package app

// The typed client of this package's tests (app/genqlient.yaml).
//go:generate go run github.com/Khan/genqlient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"

	"credkeep/apitoken"
	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/coherence"
	"credkeep/connection"
	"credkeep/credential"
	"credkeep/events"
	"credkeep/graph"
	"credkeep/httpapi"
	"credkeep/internal/loaders"
	"credkeep/internal/metrics"
	"credkeep/internal/netguard"
	"credkeep/internal/persisted"
	"credkeep/internal/ratelimit"
	"credkeep/lifecycle"
	"credkeep/resolvers"
	"credkeep/storage"
	"credkeep/usecount"
	"credkeep/webhook"
	"credkeep/workspace"
)

// Options are what NewHandler needs.
type Options struct {
	Store *storage.Store
	// Uses counts credential uses; the caller starts it and closes it before the store.
	Uses       *usecount.Counter
	JWT        authn.JWTConfig
	Logger     *slog.Logger
	Dev        bool
	Playground bool
	// TokenRateLimit is the number of requests per API token per hour.
	TokenRateLimit int
	// APQMax bounds the shared store of automatic persisted queries (0: the default).
	APQMax int
	// ExpiryWarning is how long before its expiry a credential is expiring soon (0: 14 days).
	ExpiryWarning time.Duration
	// DeadlinesEvery is how often the deadline scheduler (package lifecycle)
	// looks for expiring, expired and rotation-due credentials; 0: it does not run.
	DeadlinesEvery time.Duration
	// WarmCache reads every workspace's credentials and policies into the
	// caches in the background at start, on a database with one writer (the
	// embedded one, or FerretDB v1 with CREDKEEP_SINGLE_INSTANCE; warmCaches).
	WarmCache bool
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []*net.IPNet
	// CORSOrigins get CORS headers.
	CORSOrigins []string
	// CORSHeaders are request headers allowed beyond the default set.
	CORSHeaders []string
	// Trusted are the trusted documents (CREDKEEP_PERSISTED_QUERIES); nil for
	// none. The console's operations are always trusted besides.
	Trusted *persisted.Trusted
	// Console, when set, serves the web console (its operations are trusted either way).
	Console *httpapi.ConsoleOptions
	// Outbound configures connections to providers (tests, OAuth2); Guard,
	// RedirectURL and Now are filled in when empty.
	Outbound connection.Config
	// AllowPrivateTargets lets outbound calls reach loopback and private addresses.
	AllowPrivateTargets bool
	// Now is the clock (tests inject one); time.Now when nil.
	Now func() time.Time
	// Metrics are this instance's; nil: a new set.
	Metrics *metrics.Metrics
	// EventsPoll is how often followed audit logs are read for entries other
	// instances wrote (0: events.DefaultPoll).
	EventsPoll time.Duration
	// MaxSubscriptions bounds the event streams per caller (0: the default).
	MaxSubscriptions int
	// WebhooksEvery is how often the webhook deliverer looks for webhooks to
	// take and for retries that are due; 0: this instance delivers none.
	WebhooksEvery time.Duration
	// WebhookLease is how long a webhook's delivery lease lasts (0: the default).
	WebhookLease time.Duration
	// WebhookRateUnderLoad: deliveries per second while requests are answered (0: the default).
	WebhookRateUnderLoad int
}

// NewHandler builds the root handler. ctx bounds background work (JWKS refresh).
func NewHandler(ctx context.Context, o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Uses == nil {
		return nil, errors.New("app: Options.Uses is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenRateLimit == 0 {
		o.TokenRateLimit = 5000
	}
	o.JWT.Now = o.Now
	o.JWT.Logger = o.Logger
	verifier, err := authn.NewJWTVerifier(ctx, o.JWT)
	if err != nil {
		return nil, err
	}
	// Everything reads and writes through the caches that check versions.
	store := coherence.Wrap(o.Store, o.Now, o.Logger)
	authorizer, err := authz.NewAuthorizer(store.Rules(), store)
	if err != nil {
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	auditLog := audit.NewLog(store, o.Now, func(ctx context.Context, msg string, err error) {
		o.Metrics.AuditFailure()
		o.Logger.ErrorContext(ctx, msg, "error", err)
	})
	auditLog.Observe(o.Metrics.AuditAppend)
	hub := events.NewHub(auditReader{store, auditLog}, o.EventsPoll, o.Logger)
	auditLog.OnAppend(hub.Appended)
	if o.Outbound.Guard == nil {
		o.Outbound.Guard = netguard.New(o.AllowPrivateTargets)
	}
	if o.Outbound.RedirectURL == "" {
		o.Outbound.RedirectURL = "http://localhost:8080/oauth/callback"
	}
	o.Outbound.Now = o.Now
	workspaces := workspace.New(store, authorizer, auditLog, o.Now, o.Logger)
	if err := workspaces.ResumeKeyRotations(ctx); err != nil {
		// Not fatal: every secret is readable meanwhile, and rotateWorkspaceKey resumes it.
		o.Logger.WarnContext(ctx, "could not resume the key rotations in progress", "error", err)
	}
	perRequest := func(ctx context.Context) context.Context {
		return coherence.WithRequestMemo(authz.WithRequestCache(loaders.With(ctx, loaders.New(store, o.Uses))))
	}
	workspaces.SetSubscriptions(&workspace.Subscriptions{Hub: hub, Fresh: perRequest, Max: o.MaxSubscriptions})
	credentials := credential.NewService(store, o.Uses, workspaces, authorizer, auditLog, connection.NewManager(o.Outbound, store), o.Now, o.Logger)
	// Back to the apps allowed by CORS, and to this server's own console (the
	// origin of the OAuth redirect URL is where people reach this server).
	returnOrigins := slices.Clone(o.CORSOrigins)
	if u, err := url.Parse(o.Outbound.RedirectURL); err == nil && u.Host != "" && o.Console != nil {
		returnOrigins = append(returnOrigins, u.Scheme+"://"+u.Host)
	}
	credentials.AllowReturnTo(returnOrigins)
	if o.ExpiryWarning > 0 {
		credentials.SetExpiryWarning(o.ExpiryWarning)
	}
	if o.DeadlinesEvery > 0 {
		holder, err := uuid.NewRandom()
		if err != nil {
			return nil, err
		}
		go lifecycle.New(store, credentials, auditLog, o.Now, holder.String(), o.DeadlinesEvery, o.Logger).Run(ctx)
	}
	credentials.ObserveCache(func(hit bool) { o.Metrics.Cache("credential", hit) })
	if o.WarmCache && store.OneInstance() {
		go warmCaches(ctx, store, authorizer, credentials, o.Logger)
	}
	console, err := persisted.ParseManifest(httpapi.ConsoleManifest(), graph.NewExecutableSchema(graph.Config{}).Schema())
	if err != nil {
		return nil, fmt.Errorf("the console's built-in operations: %w", err)
	}
	apq := persisted.NewExtension(store, console.With(o.Trusted), o.APQMax, o.Now)
	apq.Observe(func(hit bool) { o.Metrics.Cache("persisted_query", hit) })
	apiTokens := apitoken.New(store, workspaces, auditLog, o.Now, o.Logger)
	load := &httpapi.Load{}
	hooks := webhook.New(webhook.Options{Store: store, Access: workspaces, Audit: auditLog, Tail: auditLog, Hub: hub,
		Guard: o.Outbound.Guard, AllowPrivate: o.AllowPrivateTargets, Now: o.Now, Log: o.Logger,
		Busy: load.Busy, RateUnderLoad: o.WebhookRateUnderLoad})
	if o.WebhooksEvery > 0 {
		holder, err := uuid.NewRandom()
		if err != nil {
			return nil, err
		}
		go hooks.NewDeliverer(holder.String(), o.WebhooksEvery, o.WebhookLease).Run(ctx)
	}
	gql := httpapi.NewGraphQL(httpapi.GraphQLOptions{
		Resolvers:   resolvers.New(workspaces, credentials, apiTokens, hooks),
		Persisted:   apq,
		Logger:      o.Logger,
		Dev:         o.Dev,
		Metrics:     o.Metrics,
		CORSOrigins: o.CORSOrigins,
	})
	return httpapi.New(httpapi.Options{
		GraphQL:        gql,
		Auth:           authn.NewAuthenticator(verifier, store, store, o.Now),
		DB:             store,
		Logger:         o.Logger,
		Playground:     o.Playground,
		Limiter:        ratelimit.New(store, o.TokenRateLimit, o.Now),
		TrustedProxies: o.TrustedProxies,
		CORSOrigins:    o.CORSOrigins,
		CORSHeaders:    o.CORSHeaders,
		Authorizations: credentials,
		Metrics:        o.Metrics,
		Console:        o.Console,
		PerRequest:     perRequest,
		Load:           load,
	}), nil
}

// warmCaches reads what the first request in each workspace would otherwise
// wait for after a restart on a database with one writer: its policies and its
// credentials, each kind in one read of every workspace's (there a read of one
// workspace's costs as much: authz.Authorizer.Warm, credential.Service.WarmCache).
// In the background: requests are served meanwhile, and those that miss a
// list share its read.
func warmCaches(ctx context.Context, store *coherence.Store, a *authz.Authorizer, credentials *credential.Service, log *slog.Logger) {
	ids, err := store.WorkspaceIDs(ctx)
	if err == nil {
		err = a.Warm(ctx, ids)
	}
	if err == nil {
		err = credentials.WarmCache(ctx)
	}
	if err != nil && ctx.Err() == nil {
		// Not fatal: each workspace's first request reads what it needs instead.
		log.WarnContext(ctx, "could not read the caches ahead at start", "error", err)
	}
}

// auditReader is what the event hub reads: entries from the store, the end of
// a log from the audit log (which knows where this instance left it).
type auditReader struct {
	*coherence.Store
	log *audit.Log
}

func (a auditReader) LastSeq(ctx context.Context, log string) (int64, error) {
	return a.log.LastSeq(ctx, log)
}
