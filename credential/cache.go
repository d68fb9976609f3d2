package credential

import (
	"context"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"credkeep/coherence"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// CacheStore is what the credential cache reads.
type CacheStore interface {
	WorkspaceState(ctx context.Context, workspaceID string) (coherence.WorkspaceState, error)
	SealedCredential(ctx context.Context, id string) (storage.Credential, storage.Sealed, error)
	SealedCredentialsOf(ctx context.Context, workspaceID string) ([]storage.Credential, []storage.Sealed, error)
	Unseal(ctx context.Context, s storage.Sealed) (map[string]redact.Secret, error)
}

// cache keeps credentials in process, their secrets still encrypted, so that
// reading one costs no database read of the credential. Every use checks the
// entry against its workspace's data version, read fresh for the request (one
// shared read of a small document; see coherence.WorkspaceState): a change made
// by any instance before the request began is always seen. Entries also expire
// after coherence.CacheMaxAge, the backstop for a version bump lost in a crash.
//
// A credential read is an _id lookup (indexed on every database, see
// storage/embedded/sqliteid.go for the embedded one) but still a round trip and a
// decode per request; the cache makes a repeated read cost none, and lists
// (which scan a workspace's credentials) cost one read per data version.
type cache struct {
	store CacheStore
	now   func() time.Time
	// entries by credential id; lists of a workspace's credentials by workspace id.
	entries *lru.Cache[string, *entry]
	lists   *lru.Cache[string, *wsList]
	// homes maps credential id → workspace id, which never changes: it lets a
	// lookup read the workspace's version before the credential.
	homes *lru.Cache[string, string]
	// loads shares one database read among the requests that miss the same
	// entry or list at the same version (a cold workspace under load would
	// otherwise be read, and on the embedded database scanned, once per request).
	loads singleflight.Group
	// observe, when set, learns whether a get was served from memory.
	observe func(hit bool)
}

func (c *cache) observed(hit bool) {
	if c.observe != nil {
		c.observe(hit)
	}
}

// entry is one credential as read at a data version; it never changes. Its use
// counters are not served from here (see Service.Uses).
type entry struct {
	cred     storage.Credential
	sealed   storage.Sealed
	version  int64 // the workspace's data version read before the credential
	loadedAt time.Time

	maskMu sync.Mutex
	masked map[string]*string // secret key → hint (nil: too short to hint); set keys only
}

type wsList struct {
	version  int64
	loadedAt time.Time
	entries  []*entry
}

const cacheSize = 100_000

func newCache(store CacheStore, now func() time.Time) *cache {
	entries, _ := lru.New[string, *entry](cacheSize) // errors only for a size < 1
	lists, _ := lru.New[string, *wsList](1_000)
	homes, _ := lru.New[string, string](cacheSize)
	return &cache{store: store, now: now, entries: entries, lists: lists, homes: homes}
}

func (c *cache) fresh(loadedAt time.Time) bool {
	return c.now().Sub(loadedAt) < coherence.CacheMaxAge
}

// get returns a credential as of this request, or storage.ErrNotFound.
func (c *cache) get(ctx context.Context, id string) (*entry, error) {
	ws, known := c.homes.Get(id)
	if !known {
		// First sight: the workspace (and so the version to check) is not known
		// before the read; serve this read uncached and remember the workspace.
		cred, sealed, err := c.store.SealedCredential(ctx, id)
		if err != nil {
			return nil, err
		}
		c.homes.Add(id, cred.WorkspaceID)
		c.observed(false)
		return &entry{cred: cred, sealed: sealed, version: -1, loadedAt: c.now()}, nil
	}
	st, err := c.store.WorkspaceState(ctx, ws)
	if err != nil {
		return nil, err
	}
	if e, ok := c.entries.Get(id); ok && e.version == st.DataVersion && c.fresh(e.loadedAt) {
		c.observed(true)
		return e, nil
	}
	if l, ok := c.lists.Get(ws); ok && l.version == st.DataVersion && c.fresh(l.loadedAt) {
		for _, e := range l.entries {
			if e.cred.ID == id {
				c.entries.Add(id, e)
				c.observed(true)
				return e, nil
			}
		}
		return nil, storage.ErrNotFound
	}
	c.observed(false)
	// The version was read before the credential: if a write lands in between,
	// the version has moved on past this entry's and the next request reloads.
	v, err, _ := c.loads.Do("c:"+id+"@"+strconv.FormatInt(st.DataVersion, 10), func() (any, error) {
		loadedAt := c.now()
		cred, sealed, err := c.store.SealedCredential(context.WithoutCancel(ctx), id)
		if err != nil {
			return nil, err
		}
		e := &entry{cred: cred, sealed: sealed, version: st.DataVersion, loadedAt: loadedAt}
		c.entries.Add(id, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// list returns every credential of a workspace, sorted by name, as of this request.
func (c *cache) list(ctx context.Context, workspaceID string) ([]*entry, error) {
	st, err := c.store.WorkspaceState(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if l, ok := c.lists.Get(workspaceID); ok && l.version == st.DataVersion && c.fresh(l.loadedAt) {
		return l.entries, nil
	}
	v, err, _ := c.loads.Do("w:"+workspaceID+"@"+strconv.FormatInt(st.DataVersion, 10), func() (any, error) {
		return c.loadList(context.WithoutCancel(ctx), workspaceID, st.DataVersion)
	})
	if err != nil {
		return nil, err
	}
	return v.([]*entry), nil
}

// loadList reads a workspace's credentials; version was read before.
func (c *cache) loadList(ctx context.Context, workspaceID string, version int64) ([]*entry, error) {
	loadedAt := c.now()
	creds, sealed, err := c.store.SealedCredentialsOf(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	l := &wsList{version: version, loadedAt: loadedAt, entries: make([]*entry, len(creds))}
	for i, cred := range creds {
		e := &entry{cred: cred, sealed: sealed[i], version: version, loadedAt: loadedAt}
		// An entry already cached at this version keeps its computed hints.
		if old, ok := c.entries.Get(cred.ID); ok && old.version == e.version {
			e = old
		} else {
			c.entries.Add(cred.ID, e)
		}
		c.homes.Add(cred.ID, workspaceID)
		l.entries[i] = e
	}
	c.lists.Add(workspaceID, l)
	return l.entries, nil
}

// credential is a copy of the entry's credential.
func (e *entry) credential() storage.Credential { return e.cred }

// hints returns, for each set secret field, its hint (nil when the secret is
// too short to hint). It decrypts once per entry; the plaintext is not kept.
func (e *entry) hints(ctx context.Context, store CacheStore) (map[string]*string, error) {
	e.maskMu.Lock()
	defer e.maskMu.Unlock()
	if e.masked != nil {
		return e.masked, nil
	}
	plain, err := store.Unseal(ctx, e.sealed)
	if err != nil {
		return nil, err
	}
	masked := make(map[string]*string, len(plain))
	for k, v := range plain {
		masked[k] = Hint(v)
	}
	e.masked = masked
	return masked, nil
}
