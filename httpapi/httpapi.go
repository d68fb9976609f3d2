// Package httpapi is credkeep's HTTP surface (SPEC.md §6): routes, the middleware
// every request passes (request id, access log, body limit, authentication), the
// gqlgen server with its error presenter, and the health endpoints.
package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/cors"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/internal/logging"
	"credkeep/internal/metrics"
	"credkeep/internal/ratelimit"
)

// MaxBodyBytes caps a request body; a GraphQL request is a few KiB.
const MaxBodyBytes = 1 << 20

// Pinger reports whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
	// CheckKMS reports whether the KMS unwraps data keys now.
	CheckKMS(ctx context.Context) error
}

// Authenticator resolves the caller from the Authorization header.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (*authn.Principal, error)
}

// Options wire the handler.
type Options struct {
	GraphQL    http.Handler // from NewGraphQL
	Auth       Authenticator
	DB         Pinger
	Logger     *slog.Logger
	Playground bool
	// PerRequest adds request-scoped state (dataloaders, the authorization cache)
	// to each GraphQL request's context.
	PerRequest func(context.Context) context.Context
	// Limiter counts API token requests.
	Limiter Limiter
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []*net.IPNet
	// CORSOrigins get CORS headers on /graphql; nobody else does.
	CORSOrigins []string
	// CORSHeaders are request headers allowed beyond DefaultCORSHeaders.
	CORSHeaders []string
	// Authorizations completes OAuth2 flows at /oauth/callback.
	Authorizations Authorizations
	// Metrics are served at /metrics and counted by every request; nil: none.
	Metrics *metrics.Metrics
	// Console, when set, serves the web console at / (CREDKEEP_CONSOLE).
	Console *ConsoleOptions
	// Load, when set, counts the GraphQL requests in flight (streams aside).
	Load *Load
}

// Load counts the GraphQL requests being answered: background work (webhook
// deliveries) slows down while there are any, so that requests keep the CPU.
type Load struct {
	inflight atomic.Int64
	lastDone atomic.Int64 // unix nanoseconds
}

// busyAfter is how long after its last request an instance still counts as
// busy: requests that share a group commit answer together, and the instant
// after, before their clients send the next ones, none is in flight.
const busyAfter = 200 * time.Millisecond

// Busy reports whether a request is being answered now, or was a moment ago.
func (l *Load) Busy() bool {
	return l.inflight.Load() > 0 || time.Since(time.Unix(0, l.lastDone.Load())) < busyAfter
}

func (l *Load) track(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStream(r) {
			next.ServeHTTP(w, r) // a stream waits most of its life
			return
		}
		l.inflight.Add(1)
		defer func() {
			l.lastDone.Store(time.Now().UnixNano())
			l.inflight.Add(-1)
		}()
		next.ServeHTTP(w, r)
	})
}

// Limiter decides whether an API token may make another request.
type Limiter interface {
	Allow(ctx context.Context, tokenHash string) (ratelimit.Decision, error)
}

// New returns the server's root handler.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	gql := o.Load.track(withCORS(o.CORSOrigins, append(slices.Clone(DefaultCORSHeaders), o.CORSHeaders...), graphqlRequest(authenticate(o.Auth, o.Logger, rateLimit(o.Limiter, o.Logger, o.Metrics, perRequest(o.PerRequest, graphqlResponse(o.GraphQL)))))))
	mux.Handle("POST /graphql", gql)
	mux.Handle("GET /graphql", gql)
	mux.Handle("OPTIONS /graphql", gql)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", readyz(o.DB, o.Logger))
	if o.Authorizations != nil {
		mux.HandleFunc("GET /oauth/callback", oauthCallback(o.Authorizations, o.CORSOrigins, o.Logger))
	}
	if o.Playground {
		mux.Handle("GET /playground", playgroundHandler())
		mux.Handle("GET /playground/", playgroundHandler())
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	if o.Console != nil {
		mux.Handle("GET /", consoleHandler(*o.Console))
	}
	return requestContext(o.Logger, o.TrustedProxies, o.Metrics, limitBody(mux))
}

// routeOf names a request's route for metrics: one of the server's own paths,
// never the path a client sent.
func routeOf(path string) string {
	switch path {
	case "/graphql", "/healthz", "/readyz", "/metrics", "/oauth/callback", "/playground":
		return path
	}
	if strings.HasPrefix(path, "/playground/") {
		return "/playground"
	}
	return "other"
}

// requestContext gives each request an id (echoed in X-Request-Id) and its
// client address for audit entries, and writes one access log line. Headers are never logged: they carry tokens.
func requestContext(log *slog.Logger, trusted []*net.IPNet, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := logging.NewRequestID()
		ctx := logging.WithRequestID(r.Context(), id)
		ctx = audit.WithClient(ctx, audit.ClientOf(r, trusted))
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		took := time.Since(start)
		m.HTTP(routeOf(r.URL.Path), rec.status, took)
		log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", took))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack passes through, for WebSocket upgrades (the upgrader asks the
// writer itself, not through Unwrap).
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Flush passes through, for answers that stream (@defer).
func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// limitBody refuses a declared oversized body at once, and caps every body.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", "request body too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// HandlerTimeout bounds the work of one GraphQL request.
const HandlerTimeout = 30 * time.Second

// graphqlRequest enforces the HTTP rules of /graphql before gqlgen sees the
// request: POST bodies are application/json (415 otherwise), read whole up to
// the limit (413 past it, even without a Content-Length), and a single
// operation (a batch, a JSON array, is refused without echoing it); GET is
// marked so that it may run queries only. Every request gets a deadline.
func graphqlRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ctx context.Context
		var cancel context.CancelFunc
		if !isStream(r) {
			ctx, cancel = context.WithTimeout(r.Context(), HandlerTimeout)
		} else {
			// A subscription lasts as long as its client wants (and may).
			ctx, cancel = context.WithCancel(r.Context())
			ctx = context.WithValue(ctx, streamKey{}, true)
			// Nor the server's read and write timeouts, which are for requests.
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		}
		defer cancel()
		switch {
		case isUpgrade(r):
			// A WebSocket: the operations come over it, not in the request.
		case r.Method == http.MethodGet:
			ctx = context.WithValue(ctx, getKey{}, true)
			q := r.URL.Query()
			if !jsonObjectOrAbsent(q, "variables") || !jsonObjectOrAbsent(q, "extensions") {
				writeError(w, http.StatusBadRequest, "BAD_REQUEST", "variables and extensions must be JSON objects")
				return
			}
			if id := q.Get("documentId"); id != "" && q.Get("extensions") == "" {
				ext, _ := json.Marshal(map[string]any{"persistedQuery": persistedQueryOf(id)})
				q.Set("extensions", string(ext))
				u := *r.URL
				u.RawQuery = q.Encode()
				r = r.Clone(r.Context())
				r.URL = &u
			}
		case r.Method == http.MethodPost:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "BAD_USER_INPUT", "send GraphQL requests as application/json")
				return
			}
			body, err := io.ReadAll(r.Body)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", "request body too large")
				return
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", "could not read the request body")
				return
			}
			if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
				writeError(w, http.StatusBadRequest, "BAD_USER_INPUT", "batched requests are not supported; send one operation per request")
				return
			}
			if !wellFormed(body) {
				// Never echoed, never logged: the body may hold passwords and tokens.
				writeError(w, http.StatusBadRequest, "BAD_REQUEST", "the request body is not a GraphQL request: send one JSON object with query, variables, operationName and extensions")
				return
			}
			body = withDocumentID(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// A request may name a trusted document by documentId (the GraphQL over HTTP
// persisted-documents proposal, GraphQL Codegen's client preset): "sha256:<hex>"
// or a manifest id. It is read as Apollo's extensions.persistedQuery, which the
// persisted-query extension resolves from the trusted documents (by id or
// hash) or the shared APQ store (by hash).
func persistedQueryOf(documentID string) map[string]any {
	return map[string]any{"version": 1, "sha256Hash": strings.TrimPrefix(documentID, "sha256:")}
}

// withDocumentID turns a well-formed body's documentId into
// extensions.persistedQuery (unless the request has one already).
func withDocumentID(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"documentId"`)) {
		return body // the common case: no second decoding
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		return body
	}
	var id string
	if json.Unmarshal(req["documentId"], &id) != nil || id == "" {
		return body
	}
	var ext map[string]any
	_ = json.Unmarshal(req["extensions"], &ext)
	if ext == nil {
		ext = map[string]any{}
	}
	if _, ok := ext["persistedQuery"]; ok {
		return body
	}
	ext["persistedQuery"] = persistedQueryOf(id)
	req["extensions"], _ = json.Marshal(ext)
	delete(req, "documentId")
	out, err := json.Marshal(req)
	if err != nil {
		return body
	}
	return out
}

// wellFormed reports whether body is one JSON object of the GraphQL-over-HTTP
// request shape: query and operationName strings (or null), variables and
// extensions objects (or null), plus documentId (a string) of trusted documents.
// Anything else (a syntax error, a byte-order mark, another shape) never reaches
// gqlgen, whose decoding error repeats the whole body.
func wellFormed(body []byte) bool {
	var req map[string]json.RawMessage
	// Unmarshal checks the whole body (trailing data included) as it decodes.
	if json.Unmarshal(body, &req) != nil || req == nil {
		return false
	}
	for k, v := range req {
		switch k {
		case "query", "operationName", "documentId":
			if !jsonKind(v, '"') {
				return false
			}
		case "variables", "extensions":
			if !jsonKind(v, '{') {
				return false
			}
		}
	}
	return true
}

// jsonKind reports whether v is null or a JSON value starting with first.
func jsonKind(v json.RawMessage, first byte) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && (v[0] == first || bytes.Equal(v, []byte("null")))
}

func jsonObjectOrAbsent(q url.Values, key string) bool {
	s := q.Get(key)
	if s == "" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil
}

// DefaultCORSHeaders are the request headers a browser client may send
// (SPEC.md §9): credentials and content type, W3C trace context, and what
// Apollo Client and its persisted-query link add.
var DefaultCORSHeaders = []string{"Authorization", "Content-Type", "traceparent", "tracestate", "baggage",
	"apollographql-client-name", "apollographql-client-version", "apollo-require-preflight", "X-Request-Id"}

// withCORS answers CORS for the configured origins only: never a wildcard,
// never a reflected origin, no cookies (credentials are bearer tokens), and
// preflights cached for ten minutes.
func withCORS(origins, headers []string, next http.Handler) http.Handler {
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: headers,
		ExposedHeaders: []string{"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"},
		MaxAge:         600,
	})
	return c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			// A preflight from an origin that is not allowed: no CORS headers, nothing else.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// authenticate puts the caller's Principal in the context. Presented but invalid
// credentials are refused with 401 before GraphQL runs; no credentials at all
// go through as anonymous, and each resolver that needs a caller says UNAUTHENTICATED.
func authenticate(a Authenticator, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := a.Authenticate(ctx, r.Header.Get("Authorization"))
		switch {
		case errors.Is(err, authn.ErrBadCredentials):
			log.InfoContext(ctx, "authentication refused", "reason", err.Error())
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid or expired credentials")
			return
		case err != nil:
			log.ErrorContext(ctx, "authentication failed", "error", err)
			writeError(w, http.StatusServiceUnavailable, "INTERNAL", internalMessage(ctx))
			return
		}
		if p != nil {
			ctx = authn.WithPrincipal(ctx, p)
			header := r.Header.Get("Authorization")
			ctx = authn.WithRecheck(ctx, func(ctx context.Context) (*authn.Principal, error) { return a.Authenticate(ctx, header) })
		}
		ctx = withAuthenticator(ctx, a)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// rateLimit counts each API token request against the token's hourly limit,
// sets the X-RateLimit-* headers on every token response, and answers 429 with
// Retry-After and RATE_LIMITED over the limit. User sessions are not limited here.
func rateLimit(l Limiter, log *slog.Logger, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := authn.PrincipalFrom(r.Context())
		if l == nil || p == nil || p.Token == nil {
			next.ServeHTTP(w, r)
			return
		}
		d, err := l.Allow(r.Context(), p.Token.Hash)
		if err != nil {
			log.ErrorContext(r.Context(), "rate limit", "error", err)
			writeError(w, http.StatusServiceUnavailable, "INTERNAL", internalMessage(r.Context()))
			return
		}
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
		if !d.Allowed {
			m.RateLimited()
			retry := int(math.Ceil(d.Wait.Seconds()))
			h.Set("Retry-After", strconv.Itoa(max(retry, 1)))
			writeError(w, http.StatusTooManyRequests, "RATE_LIMITED", "rate limit exceeded for this API token; retry after the window resets")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func perRequest(scope func(context.Context) context.Context, next http.Handler) http.Handler {
	if scope == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(scope(r.Context())))
	})
}

func readyz(db Pinger, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			log.WarnContext(ctx, "not ready: database unreachable", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
			return
		}
		if err := db.CheckKMS(ctx); err != nil {
			log.WarnContext(ctx, "not ready: KMS unreachable", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "KMS unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

func internalMessage(ctx context.Context) string {
	return "internal error (request id " + logging.RequestID(ctx) + ")"
}

// writeError answers outside GraphQL execution in the GraphQL response shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": code}}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
