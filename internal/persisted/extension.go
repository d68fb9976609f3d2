package persisted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/authn"
	"credkeep/internal/apierror"
	"credkeep/storage"
)

// Store keeps automatic persisted queries for every instance.
type Store interface {
	PersistedQuery(ctx context.Context, hash string) (string, error)
	SavePersistedQuery(ctx context.Context, hash, query string, max int, now time.Time) error
	TouchPersistedQuery(ctx context.Context, hash string, now time.Time) error
}

// MaxPersistedQuery bounds one document APQ stores (SPEC.md §8).
const MaxPersistedQuery = 16 << 10

// DefaultMaxStored is CREDKEEP_APQ_MAX's default: documents in the shared store.
const DefaultMaxStored = 10_000

// touchEvery is how often an instance records that it still uses a query it
// holds in memory, so that the shared store's eviction order follows use.
const touchEvery = 10 * time.Minute

// Extension resolves persisted queries before parsing: trusted documents
// first, then the APQ cache (in-process LRU in front of MongoDB). Tokens marked
// persistedQueriesOnly may run trusted documents only.
type Extension struct {
	store     Store
	trusted   *Trusted
	cache     *lru.Cache[string, *cached]
	maxStored int
	now       func() time.Time
	schema    *ast.Schema
	// observe, when set, learns whether a look-up found the query in memory.
	observe func(hit bool)
}

// Observe sets a function told of every look-up's cache hit or miss (metrics).
func (e *Extension) Observe(fn func(hit bool)) { e.observe = fn }

type cached struct {
	query   string
	touched atomic.Int64 // unix seconds of the last use recorded in the store
}

// NewExtension returns the extension; trusted may be nil (no manifest).
// maxStored bounds the shared store (CREDKEEP_APQ_MAX; 0: the default).
func NewExtension(store Store, trusted *Trusted, maxStored int, now func() time.Time) *Extension {
	if maxStored <= 0 {
		maxStored = DefaultMaxStored
	}
	cache, _ := lru.New[string, *cached](min(5000, maxStored))
	return &Extension{store: store, trusted: trusted, cache: cache, maxStored: maxStored, now: now}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*Extension)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (e *Extension) ExtensionName() string { return "PersistedQueries" }

// Validate implements graphql.HandlerExtension: it keeps the schema that
// documents are validated against before they are stored.
func (e *Extension) Validate(es graphql.ExecutableSchema) error {
	e.schema = es.Schema()
	return nil
}

func gqlErr(code apierror.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

// MutateOperationParameters fills in the query text of a persisted query, or refuses.
func (e *Extension) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash, present, gerr := hashOf(raw)
	if gerr != nil {
		return gerr
	}
	p := authn.PrincipalFrom(ctx)
	if p != nil && p.Token != nil && p.Token.PersistedQueriesOnly {
		return e.trustedOnly(raw, hash, present)
	}
	if !present {
		return nil
	}
	if raw.Query == "" {
		if op, ok := e.trusted.Lookup(hash); ok {
			raw.Query = op.Body
			return nil
		}
		q, err := e.lookup(ctx, hash)
		if err != nil {
			return gqlErr(apierror.Internal, "internal error")
		}
		if q == "" {
			return gqlErr(apierror.PersistedQueryNotFound, "PersistedQueryNotFound")
		}
		raw.Query = q
		return nil
	}
	if Hash(raw.Query) != hash {
		return gqlErr(apierror.BadUserInput, "the persisted query hash does not match the query")
	}
	if p == nil {
		// Only signed-in callers register queries; the request still runs (and
		// is refused later if it needs a caller).
		return nil
	}
	if _, ok := e.cache.Get(hash); ok {
		return nil
	}
	if len(raw.Query) > MaxPersistedQuery {
		return gqlErr(apierror.BadUserInput, fmt.Sprintf("a persisted query holds at most %d KiB; send it without persistedQuery", MaxPersistedQuery>>10))
	}
	if e.schema != nil {
		// Only documents that would run are kept: never arbitrary text.
		if _, errs := gqlparser.LoadQuery(e.schema, raw.Query); len(errs) > 0 {
			return nil // not stored; the request goes on and fails with its own errors
		}
	}
	if err := e.store.SavePersistedQuery(ctx, hash, raw.Query, e.maxStored, e.now()); err != nil {
		return gqlErr(apierror.Internal, "internal error")
	}
	e.remember(hash, raw.Query)
	return nil
}

func (e *Extension) remember(hash, query string) {
	c := &cached{query: query}
	c.touched.Store(e.now().Unix())
	e.cache.Add(hash, c)
}

// trustedOnly lets a persistedQueriesOnly token run a trusted document, by id
// or hash, or by its exact text; nothing else.
func (e *Extension) trustedOnly(raw *graphql.RawParams, hash string, present bool) *gqlerror.Error {
	required := gqlErr(apierror.PersistedQueryRequired, "this API token may only run the trusted operations of the manifest")
	if present {
		op, ok := e.trusted.Lookup(hash)
		if !ok || (raw.Query != "" && raw.Query != op.Body) {
			return required
		}
		raw.Query = op.Body
		return nil
	}
	if raw.Query == "" {
		return required
	}
	if _, ok := e.trusted.Lookup(Hash(raw.Query)); !ok {
		return required
	}
	return nil
}

func (e *Extension) lookup(ctx context.Context, hash string) (string, error) {
	now := e.now()
	c, ok := e.cache.Get(hash)
	if e.observe != nil {
		e.observe(ok)
	}
	if ok {
		if last := c.touched.Load(); now.Unix()-last >= int64(touchEvery/time.Second) && c.touched.CompareAndSwap(last, now.Unix()) {
			if err := e.store.TouchPersistedQuery(ctx, hash, now); err != nil {
				return "", err
			}
		}
		return c.query, nil
	}
	q, err := e.store.PersistedQuery(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := e.store.TouchPersistedQuery(ctx, hash, now); err != nil {
		return "", err
	}
	e.remember(hash, q)
	return q, nil
}

// hashOf reads extensions.persistedQuery; present is false when there is none.
func hashOf(raw *graphql.RawParams) (string, bool, *gqlerror.Error) {
	ext, ok := raw.Extensions["persistedQuery"]
	if !ok || ext == nil {
		return "", false, nil
	}
	m, ok := ext.(map[string]any)
	hash, _ := m["sha256Hash"].(string)
	if !ok || hash == "" {
		return "", false, gqlErr(apierror.BadUserInput, "invalid persistedQuery extension")
	}
	switch v := m["version"].(type) {
	case float64, int, int64, json.Number:
		if fmt.Sprint(v) != "1" {
			return "", false, gqlErr(apierror.BadUserInput, "unsupported persistedQuery version")
		}
	default:
		return "", false, gqlErr(apierror.BadUserInput, "unsupported persistedQuery version")
	}
	return hash, true, nil
}
