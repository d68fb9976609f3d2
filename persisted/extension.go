package persisted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/apierror"
	"credkeep/authz"
	"credkeep/storage"
)

// Store keeps automatic persisted queries for every instance.
type Store interface {
	PersistedQuery(ctx context.Context, hash string) (string, error)
	SavePersistedQuery(ctx context.Context, hash, query string) error
}

// maxPersistedQuery bounds what APQ stores: a query is a few KiB.
const maxPersistedQuery = 32 << 10

// Extension resolves persisted queries before parsing: trusted documents
// first, then the APQ cache (in-process LRU in front of MongoDB). Tokens marked
// persistedQueriesOnly may run trusted documents only.
type Extension struct {
	store   Store
	trusted *Trusted
	cache   *lru.Cache[string, string]
}

// NewExtension returns the extension; trusted may be nil (no manifest).
func NewExtension(store Store, trusted *Trusted) *Extension {
	cache, _ := lru.New[string, string](5000)
	return &Extension{store: store, trusted: trusted, cache: cache}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*Extension)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (e *Extension) ExtensionName() string { return "PersistedQueries" }

// Validate implements graphql.HandlerExtension.
func (e *Extension) Validate(graphql.ExecutableSchema) error { return nil }

func gqlErr(code apierror.Code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(code)}}
}

// MutateOperationParameters fills in the query text of a persisted query, or refuses.
func (e *Extension) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash, present, gerr := hashOf(raw)
	if gerr != nil {
		return gerr
	}
	p := authz.PrincipalFrom(ctx)
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
	if p == nil || len(raw.Query) > maxPersistedQuery {
		// Only signed-in callers register queries; the request still runs (and
		// is refused later if it needs a caller).
		return nil
	}
	if _, ok := e.cache.Get(hash); !ok {
		if err := e.store.SavePersistedQuery(ctx, hash, raw.Query); err != nil {
			return gqlErr(apierror.Internal, "internal error")
		}
		e.cache.Add(hash, raw.Query)
	}
	return nil
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
	if q, ok := e.cache.Get(hash); ok {
		return q, nil
	}
	q, err := e.store.PersistedQuery(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	e.cache.Add(hash, q)
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
