package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"credkeep/app"
	"credkeep/authn"
	"credkeep/connection"
	"credkeep/httpapi"
	"credkeep/internal/logging"
	"credkeep/internal/logging/logtest"
	"credkeep/internal/persisted"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage"
	"credkeep/storage/storagetest"
	"credkeep/usecount"
)

var jwtSecret = redact.New("test-secret-test-secret-test-secret-0123")

const audience = "credkeep-test"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one database with one or more server instances on it.
type env struct {
	t     testing.TB
	first instance
	db    *storagetest.DB
	store *storage.Store // the first instance's store
	srv   *httptest.Server
	clock *clock
	dev   bool
	// rateLimit is the requests per token per hour; 0: the default.
	rateLimit int
	// apqMax bounds the shared APQ store; 0: the default.
	apqMax int
	cors   []string
	// console serves the web console (and lets OAuth flows return to it).
	console bool
	// corsHeaders are request headers allowed beyond the default set.
	corsHeaders []string
	trusted     *persisted.Trusted
	// outbound and allowPrivate configure connections to providers.
	outbound     connection.Config
	allowPrivate bool
	// kms, when set, is where the master key is (a KMS the test started).
	kms    *kms.Settings
	logs   *logtest.Buffer // every instance's log
	mu     sync.Mutex
	tokens []string // every JWT handed out; none may appear in a log
	bodies []string // every response body; none may contain a stored secret
	// maxSubscriptions, webhooksEvery and webhookLease: app.Options (0: defaults, no deliverer).
	maxSubscriptions int
	webhooksEvery    time.Duration
	webhookLease     time.Duration
	// released are secrets a test released on purpose through useCredential.
	released map[string]bool
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with options set before the first instance starts.
func newEnvWith(t testing.TB, opt func(*env)) *env {
	t.Helper()
	e := &env{t: t, db: storagetest.Start(t), clock: &clock{t: time.Now().UTC()}, logs: &logtest.Buffer{}}
	if opt != nil {
		opt(e)
	}
	first := e.instance()
	e.srv, e.store, e.first = first.srv, first.store, first
	t.Cleanup(e.checkLogs)
	return e
}

// instance is one server: its own store, use counter, caches and handler.
type instance struct {
	srv   *httptest.Server
	store *storage.Store
	uses  *usecount.Counter
	// stop ends its background work (webhook deliveries, schedulers) at once,
	// as a crash would: nothing is handed over.
	stop context.CancelFunc
}

// instance starts another server on the same database.
func (e *env) instance() instance {
	e.t.Helper()
	store := e.db.Open
	if e.kms != nil {
		store = func(t testing.TB) *storage.Store { return e.db.OpenWithKMS(t, *e.kms) }
	}
	return e.instanceOn(store(e.t))
}

// instanceOn starts a server on store.
func (e *env) instanceOn(store *storage.Store) instance {
	e.t.Helper()
	uses := usecount.New(store, nil).Start()
	e.t.Cleanup(func() {
		if err := uses.Close(context.Background()); err != nil {
			e.t.Errorf("use counts not written at close: %v", err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	h, err := app.NewHandler(ctx, app.Options{
		Store:               store,
		Uses:                uses,
		JWT:                 authn.JWTConfig{Secret: jwtSecret, Audience: audience},
		Logger:              logging.New(e.logs, "json", slog.LevelDebug),
		TokenRateLimit:      e.rateLimit,
		APQMax:              e.apqMax,
		CORSOrigins:         e.cors,
		CORSHeaders:         e.corsHeaders,
		Trusted:             e.trusted,
		Outbound:            e.outbound,
		AllowPrivateTargets: e.allowPrivate,
		Dev:                 e.dev,
		Playground:          true,
		Now:                 e.clock.Now,
		Console:             consoleOptions(e.console),
		MaxSubscriptions:    e.maxSubscriptions,
		WebhooksEvery:       e.webhooksEvery,
		WebhookLease:        e.webhookLease,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return instance{srv: srv, store: store, uses: uses, stop: cancel}
}

// checkLogs fails the test if a log line holds a token or the signing secret,
// and proves the log was written at all.
func (e *env) checkLogs() {
	if testing.Verbose() {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(l, "ERROR") {
				e.t.Log(l)
			}
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		e.t.Errorf("no access log lines were written")
	}
	if strings.Contains(logs, jwtSecret.Reveal()) {
		e.t.Errorf("the JWT secret appears in the log")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range append(e.bodies, logs) {
		for _, sec := range secrets {
			if strings.Contains(b, sec) && !(e.released[sec] && b != logs) {
				e.t.Errorf("a stored secret appears in a response or the log: %.300s", b)
			}
		}
	}
	for _, tok := range e.tokens {
		parts := strings.Split(tok, ".")
		if strings.Contains(logs, tok) || strings.Contains(logs, parts[len(parts)-1]) {
			e.t.Errorf("a JWT or a webhook signing secret appears in the log")
			return
		}
	}
}

// forget marks a secret as released on purpose (by useCredential): responses
// may contain it from now on, the log still may not.
func (e *env) forget(secret string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.released == nil {
		e.released = map[string]bool{}
	}
	e.released[secret] = true
}

type tokenOpt func(*authn.MintOptions)

func admin(o *authn.MintOptions) { o.Admin = true }

// token signs a JWT for user sub, valid for an hour from the test clock.
func (e *env) token(sub string, opts ...tokenOpt) string {
	e.t.Helper()
	o := authn.MintOptions{Subject: sub, Email: sub + "@example.com", Name: strings.ToUpper(sub[:1]) + sub[1:],
		TTL: time.Hour, Audience: audience, Now: e.clock.Now()}
	for _, f := range opts {
		f(&o)
	}
	tok, err := authn.MintHS256(jwtSecret, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.tokens = append(e.tokens, tok.Reveal())
	e.mu.Unlock()
	return tok.Reveal()
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Status int
	Header http.Header
	Body   string
	Data   map[string]json.RawMessage
	Errors []gqlError
}

// code returns the first error's extensions.code, or "".
func (r response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// field decodes data[name] into v.
func (r response) field(t testing.TB, name string, v any) {
	t.Helper()
	raw, ok := r.Data[name]
	if !ok {
		t.Fatalf("no data.%s in %s", name, r.Body)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode data.%s: %v (%s)", name, err, raw)
	}
}

// gql posts a GraphQL request to srv (the first instance when nil) as the holder of token ("" for none).
func (e *env) gqlOn(srv *httptest.Server, token, query string, vars map[string]any) response {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	r := do(e.t, req)
	e.mu.Lock()
	e.bodies = append(e.bodies, r.Body)
	e.mu.Unlock()
	return r
}

func (e *env) gql(token, query string, vars map[string]any) response {
	e.t.Helper()
	return e.gqlOn(e.srv, token, query, vars)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	var parsed struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []gqlError                 `json:"errors"`
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &parsed); err != nil {
			t.Fatalf("response is not JSON: %v: %s", err, b)
		}
	}
	r.Data, r.Errors = parsed.Data, parsed.Errors
	return r
}

// mustOK fails the test when the response has errors.
func mustOK(t testing.TB, r response) response {
	t.Helper()
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("want success, got HTTP %d: %s", r.Status, r.Body)
	}
	return r
}

// wantCode fails the test unless the first error has code.
func wantCode(t testing.TB, r response, code string) {
	t.Helper()
	if r.code() != code {
		t.Fatalf("want %s, got HTTP %d: %s", code, r.Status, r.Body)
	}
}

type workspaceJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ViewerRole string `json:"viewerRole"`
	CreatedAt  string `json:"createdAt"`
	Members    []struct {
		User struct {
			ID    string  `json:"id"`
			Email *string `json:"email"`
		} `json:"user"`
		Role string `json:"role"`
	} `json:"members"`
}

const createWorkspace = `mutation($name: String!) { createWorkspace(input: {name: $name}) { id name viewerRole createdAt } }`

// createWorkspace makes a workspace owned by the holder of token and returns its id.
func (e *env) createWorkspace(token, name string) string {
	e.t.Helper()
	var w workspaceJSON
	mustOK(e.t, e.gql(token, createWorkspace, map[string]any{"name": name})).field(e.t, "createWorkspace", &w)
	return w.ID
}

const addMember = `mutation($ws: ID!, $user: ID!, $role: WorkspaceRole!) { addMember(workspaceId: $ws, userId: $user, role: $role) { user { id email } role addedAt } }`

func (e *env) addMember(token, ws, user, role string) {
	e.t.Helper()
	mustOK(e.t, e.gql(token, addMember, map[string]any{"ws": ws, "user": user, "role": role}))
}

func httptestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

func consoleOptions(on bool) *httpapi.ConsoleOptions {
	if !on {
		return nil
	}
	return &httpapi.ConsoleOptions{}
}
