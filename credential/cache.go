package credential

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"credkeep/coherence"
	"credkeep/internal/redact"
	"credkeep/internal/rendered"
	"credkeep/provider"
	"credkeep/storage"
)

// CacheStore is what the credential cache reads.
type CacheStore interface {
	WorkspaceState(ctx context.Context, workspaceID string) (coherence.WorkspaceState, error)
	SealedCredential(ctx context.Context, id string) (storage.Credential, storage.Sealed, error)
	SealedCredentialsOf(ctx context.Context, workspaceID string) ([]storage.Credential, []storage.Sealed, error)
	EachSealedCredential(ctx context.Context, fn func(storage.Credential, storage.Sealed) error) error
	WorkspaceIDs(ctx context.Context) ([]string, error)
	WorkspacesByID(ctx context.Context, ids []string) ([]storage.Workspace, error)
	Unseal(ctx context.Context, s storage.Sealed) (map[string]redact.Secret, error)
	// OnDataChange tells the cache of this instance's credential writes.
	OnDataChange(fn func(coherence.DataChange))
	OneInstance() bool
}

// cache keeps credentials in process, their secrets still encrypted, so that
// reading one costs no database read of the credential. Every use checks the
// entry against its workspace's data version, read fresh for the request (one
// shared read of a small document; see coherence.WorkspaceState): a change made
// by any instance before the request began is always seen. On a database of
// several instances, entries also expire after coherence.CacheMaxAge, the
// backstop for a version bump lost in a crash.
//
// A credential read is an _id lookup (indexed on every database, see
// storage/embedded/sqliteid.go for the embedded one) but still a round trip and a
// decode per request; the cache makes a repeated read cost none.
//
// A list is read whole once; after that, a write this instance made moves it
// to the write's version by reading the credential written, by _id (changes).
// Only a version this instance did not make (another instance's write, a key
// rotation) reads the whole list again. On the embedded database that matters:
// it answers a query by workspace by scanning and decoding every credential of
// every workspace (about 80 µs each), so re-reading a list after each write,
// or every CacheMaxAge, cost seconds of CPU at 50,000 credentials. There,
// neither lists nor entries age (oneWriter): the database has one writer, this
// process, whose writes reach them through changes and versions, and a crash
// takes the cache with it.
type cache struct {
	store CacheStore
	now   func() time.Time
	// entries by credential id; lists of a workspace's credentials by workspace id.
	entries *lru.Cache[string, *entry]
	lists   *lru.Cache[string, *wsList]
	// homes maps credential id → workspace id, which never changes: it lets a
	// lookup read the workspace's version before the credential. A credential
	// with an entry needs none (the entry says, see get), so lists add none.
	homes *lru.Cache[string, string]
	// loads shares one database read among the requests that miss the same
	// entry or list at the same version (a cold workspace under load would
	// otherwise be read, and on the embedded database scanned, once per request).
	loads singleflight.Group
	// observe, when set, learns whether a get was served from memory.
	observe func(hit bool)
	// changes: which credential each data version this instance made changed.
	changes *lru.Cache[string, *wsChanges]
	// oneWriter: the database has one writer, this process (FerretDB v1).
	// Elsewhere entries and lists read whole are served for CacheMaxAge.
	oneWriter bool
}

// wsChanges maps the data versions of one workspace that this instance's
// writes made to the credential each changed.
type wsChanges struct {
	mu       sync.Mutex
	versions map[int64]string
}

// patchMax is how many changed credentials a list is brought up to date with
// by reading each by _id, on the database of one writer; more are read with
// every list at once. There an _id read costs ~0.5 ms and the read of every
// credential about a fifth of that per credential, but it serves every
// workspace: after an import into many workspaces, patching each list read
// every credential one at a time: tens of seconds of CPU at 50,000.
const patchMax = 64

// changesKept bounds the versions remembered per workspace; a list further
// behind is read whole.
const changesKept = 1024

func (c *cache) observed(hit bool) {
	if c.observe != nil {
		c.observe(hit)
	}
}

// entry is one credential as read at a data version; it never changes. Its use
// counters are not served from here (see Service.Uses).
type entry struct {
	// typ comes first: a page's pass over a workspace's entries reads it (and
	// the level) of each, and the rest of the credential only for the page.
	typ      *provider.Type // nil for a type this build does not know
	cred     storage.Credential
	sealed   storage.Sealed
	version  int64 // the workspace's data version read before the credential
	loadedAt time.Time

	viewsMu sync.Mutex
	views   []FieldView // the fields as a person with VIEW sees them, once made
	made    bool

	// rendered keeps the API's renderings of this version (View.Rendered),
	// made at the first: most cached credentials are never rendered, and an
	// empty cache is a third of an entry.
	rendered atomic.Pointer[rendered.Cache]
}

// renderings returns the entry's rendering cache, making it at the first call.
func (e *entry) renderings() *rendered.Cache {
	if r := e.rendered.Load(); r != nil {
		return r
	}
	e.rendered.CompareAndSwap(nil, new(rendered.Cache))
	return e.rendered.Load()
}

func newEntry(cred storage.Credential, sealed storage.Sealed, version int64, loadedAt time.Time) *entry {
	t, _ := provider.Lookup(cred.Type)
	return &entry{cred: cred, typ: t, sealed: sealed, version: version, loadedAt: loadedAt}
}

// wsList is a workspace's credentials in name order (NameKey, then id), the
// order List serves by default without sorting.
type wsList struct {
	version  int64
	loadedAt time.Time
	entries  []*entry
}

const cacheSize = 100_000

// maxLists is how many workspaces' lists the cache keeps.
const maxLists = 1_000

func newCache(store CacheStore, now func() time.Time) *cache {
	entries, _ := lru.New[string, *entry](cacheSize) // errors only for a size < 1
	lists, _ := lru.New[string, *wsList](maxLists)
	homes, _ := lru.New[string, string](cacheSize)
	changes, _ := lru.New[string, *wsChanges](10_000)
	c := &cache{store: store, now: now, entries: entries, lists: lists, homes: homes, changes: changes, oneWriter: store.OneInstance()}
	store.OnDataChange(c.changed)
	return c
}

func (c *cache) fresh(loadedAt time.Time) bool {
	return c.oneWriter || c.now().Sub(loadedAt) < coherence.CacheMaxAge
}

// changed records a write of this instance (coherence.Store.OnDataChange).
func (c *cache) changed(ch coherence.DataChange) {
	if ch.Created {
		// Known empty: on the database of one writer, a list missing there
		// is the read of every credential of the database (allLists).
		if c.oneWriter {
			c.keepList(ch.WorkspaceID, newList(ch.Version, c.now(), nil))
		}
		return
	}
	// A credential never moves to another workspace: one this instance created
	// is known at its first read, which then caches it.
	c.homes.Add(ch.CredentialID, ch.WorkspaceID)
	if ch.Version == 0 {
		// The version did not move: nothing would tell a reader that the
		// cached list and entry are stale.
		c.lists.Remove(ch.WorkspaceID)
		c.entries.Remove(ch.CredentialID)
		c.changes.Remove(ch.WorkspaceID)
		return
	}
	w := &wsChanges{versions: map[int64]string{}}
	if prev, found, _ := c.changes.PeekOrAdd(ch.WorkspaceID, w); found {
		w = prev
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.versions[ch.Version] = ch.CredentialID
	// Versions arrive about in order: the one that falls out of the window
	// goes with each write; a full sweep is left for the out-of-order rest
	// (it was a sweep of all 1,024 on every write once the window was full).
	delete(w.versions, ch.Version-changesKept)
	if len(w.versions) > changesKept {
		for v := range w.versions {
			if v <= ch.Version-changesKept {
				delete(w.versions, v)
			}
		}
	}
}

// changedBetween returns the credentials changed by versions from+1 … to, if
// this instance made every one of them.
func (c *cache) changedBetween(workspaceID string, from, to int64) ([]string, bool) {
	if to <= from || to-from > changesKept {
		return nil, false
	}
	w, ok := c.changes.Get(workspaceID)
	if !ok {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, 0, to-from)
	for v := from + 1; v <= to; v++ {
		id, ok := w.versions[v]
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// byID returns the credentials changed by versions from+1 … to
// (changedBetween), and whether reading them by _id is how a list at from
// catches up (cheap): this instance made every change (known) and, on the
// database of one writer, at most patchMax of them.
func (c *cache) byID(workspaceID string, from, to int64) (ids []string, known, cheap bool) {
	ids, known = c.changedBetween(workspaceID, from, to)
	return ids, known, known && (!c.oneWriter || len(ids) <= patchMax)
}

// get returns a credential as of this request, or storage.ErrNotFound.
func (c *cache) get(ctx context.Context, id string) (*entry, error) {
	// A cached entry, of whatever version, says the credential's workspace;
	// homes remembers it for credentials without one.
	e, cached := c.entries.Get(id)
	ws, known := "", cached
	if cached {
		ws = e.cred.WorkspaceID
	} else {
		ws, known = c.homes.Get(id)
	}
	if !known {
		// First sight: the workspace (and so the version to check) is not known
		// before the read; serve this read uncached and remember the workspace.
		cred, sealed, err := c.store.SealedCredential(ctx, id)
		if err != nil {
			return nil, err
		}
		c.homes.Add(id, cred.WorkspaceID)
		c.observed(false)
		return newEntry(cred, sealed, -1, c.now()), nil
	}
	st, err := c.store.WorkspaceState(ctx, ws)
	if err != nil {
		return nil, err
	}
	if cached && e.version == st.DataVersion && c.fresh(e.loadedAt) {
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
		return c.keepEntry(cred, sealed, st.DataVersion, loadedAt), nil
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
	l, ok := c.lists.Get(workspaceID)
	if ok && !c.fresh(l.loadedAt) {
		ok = false
	}
	if ok && l.version == st.DataVersion {
		return l.entries, nil
	}
	if !ok && c.oneWriter {
		// Every workspace's list in one read, shared by every request that
		// misses one meanwhile (see allLists).
		if err := c.shareAllLists(context.WithoutCancel(ctx)); err != nil {
			return nil, err
		}
		if l, ok = c.lists.Get(workspaceID); ok && l.version >= st.DataVersion {
			return l.entries, nil // a later version holds every change the request must see
		}
	}
	load := func() (any, error) { return c.loadList(context.WithoutCancel(ctx), workspaceID, st.DataVersion) }
	if ok {
		ids, known, cheap := c.byID(workspaceID, l.version, st.DataVersion)
		switch {
		case cheap:
			load = func() (any, error) {
				return c.patchList(context.WithoutCancel(ctx), workspaceID, l, ids, st.DataVersion)
			}
		case known:
			// One writer, many writes since (an import): one read of every
			// list, which brings the other workspaces' up too (see patchMax).
			if err := c.shareAllLists(context.WithoutCancel(ctx)); err != nil {
				return nil, err
			}
			if l, ok = c.lists.Get(workspaceID); ok && l.version >= st.DataVersion {
				return l.entries, nil
			}
		}
	}
	v, err, _ := c.loads.Do("w:"+workspaceID+"@"+strconv.FormatInt(st.DataVersion, 10), load)
	if err != nil {
		return nil, err
	}
	return v.([]*entry), nil
}

// withDeadlines returns the credentials with an expiry or a rotation period of
// every live workspace, from the lists as list serves them (at the versions
// read by the call), where the lists are the cheap way: on the database of one
// writer, when every list is cached and at most patchMax writes behind. ok is
// false elsewhere: on other databases the query of the credentials with
// deadlines is one index lookup, and on this one, when lists are missing or
// far behind (after an import), the query's scan costs less than reading
// every list into the cache for the scheduler.
func (c *cache) withDeadlines(ctx context.Context) (out []storage.Credential, ok bool, err error) {
	if !c.oneWriter {
		return nil, false, nil
	}
	ids, err := c.store.WorkspaceIDs(ctx)
	if err != nil || len(ids) > maxLists {
		return nil, false, err
	}
	live, err := c.store.WorkspacesByID(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	for _, w := range live {
		l, ok := c.lists.Peek(w.ID)
		if !ok {
			return nil, false, nil
		}
		if _, _, cheap := c.byID(w.ID, l.version, w.DataVersion); l.version != w.DataVersion && !cheap {
			return nil, false, nil
		}
	}
	for _, w := range live {
		entries, err := c.list(ctx, w.ID)
		if err != nil {
			return nil, false, err
		}
		for _, e := range entries {
			if e.cred.ExpiresAt != nil || e.cred.RotationPeriodDays != 0 {
				out = append(out, e.cred)
			}
		}
	}
	return out, true, nil
}

// warm reads every workspace's list now, where the first page of each would
// otherwise wait for that read (one writer: see allLists); elsewhere a list
// costs one workspace's read, and nothing is read ahead. Requests that miss a
// list meanwhile share the read.
func (c *cache) warm(ctx context.Context) error {
	if !c.oneWriter {
		return nil
	}
	return c.shareAllLists(ctx)
}

// shareAllLists runs allLists, or waits for the one running: one read of
// every credential for all who need it at once.
func (c *cache) shareAllLists(ctx context.Context) error {
	_, err, _ := c.loads.Do("all", func() (any, error) { return nil, c.allLists(ctx) })
	return err
}

// allLists reads the credentials of every workspace at once and keeps each
// workspace's list at its version, read before. On a database with one
// writer (FerretDB v1) a query by workspace reads and decodes every
// credential of the database, so the first page of each of 100 workspaces
// was 100 reads of all 50,000 credentials (~4 s of CPU each); this is one.
// Beyond the number of lists the cache keeps, it reads nothing (one list at
// a time, as before).
func (c *cache) allLists(ctx context.Context) error {
	ids, err := c.store.WorkspaceIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) > maxLists {
		return nil
	}
	live, err := c.store.WorkspacesByID(ctx, ids) // their versions, before the credentials
	if err != nil {
		return err
	}
	loadedAt := c.now()
	versions := make(map[string]int64, len(live))
	for _, w := range live {
		versions[w.ID] = w.DataVersion
	}
	// Each credential becomes its entry as it is read: nothing holds the
	// whole read but the lists themselves.
	byWorkspace := make(map[string][]*entry, len(live))
	err = c.store.EachSealedCredential(ctx, func(cred storage.Credential, sealed storage.Sealed) error {
		if v, ok := versions[cred.WorkspaceID]; ok { // not of a workspace created since
			byWorkspace[cred.WorkspaceID] = append(byWorkspace[cred.WorkspaceID], c.keepEntry(cred, sealed, v, loadedAt))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, w := range live {
		c.keepList(w.ID, newList(w.DataVersion, loadedAt, byWorkspace[w.ID]))
	}
	return nil
}

// loadList reads a workspace's credentials; version was read before.
func (c *cache) loadList(ctx context.Context, workspaceID string, version int64) ([]*entry, error) {
	loadedAt := c.now()
	creds, sealed, err := c.store.SealedCredentialsOf(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	l := c.makeList(version, loadedAt, creds, sealed)
	c.keepList(workspaceID, l)
	return l.entries, nil
}

// makeList makes a workspace's list from its credentials, read after version.
func (c *cache) makeList(version int64, loadedAt time.Time, creds []storage.Credential, sealed []storage.Sealed) *wsList {
	entries := make([]*entry, len(creds))
	for i, cred := range creds {
		entries[i] = c.keepEntry(cred, sealed[i], version, loadedAt)
	}
	return newList(version, loadedAt, entries)
}

// keepEntry caches a credential read after version and returns its entry: the
// one already cached at this version, which keeps what it computed, if any.
func (c *cache) keepEntry(cred storage.Credential, sealed storage.Sealed, version int64, loadedAt time.Time) *entry {
	if old, ok := c.entries.Get(cred.ID); ok && old.version == version {
		return old
	}
	e := newEntry(cred, sealed, version, loadedAt)
	c.entries.Add(cred.ID, e)
	return e
}

// newList makes a list of entries, sorting them by name unless they are.
func newList(version int64, loadedAt time.Time, entries []*entry) *wsList {
	if !slices.IsSortedFunc(entries, byName) {
		slices.SortFunc(entries, byName) // the database may have sorted them; this does not rely on its collation
	}
	return &wsList{version: version, loadedAt: loadedAt, entries: entries}
}

func byName(a, b *entry) int {
	if n := strings.Compare(a.cred.NameKey, b.cred.NameKey); n != 0 {
		return n
	}
	return strings.Compare(a.cred.ID, b.cred.ID)
}

// patchList makes the list at version out of l by reading again the
// credentials ids, which the versions in between changed; version was read
// before. The list keeps its loadedAt: the age bound (on a database of several
// instances) counts from the last whole read.
func (c *cache) patchList(ctx context.Context, workspaceID string, l *wsList, ids []string, version int64) ([]*entry, error) {
	changed := make(map[string]*entry, len(ids))
	for _, id := range ids {
		if _, done := changed[id]; done {
			continue
		}
		cred, sealed, err := c.store.SealedCredential(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			changed[id] = nil
		case err != nil:
			return nil, err
		default:
			changed[id] = c.keepEntry(cred, sealed, version, c.now())
		}
	}
	entries := make([]*entry, 0, len(l.entries)+len(changed))
	for _, e := range l.entries {
		if _, ok := changed[e.cred.ID]; !ok {
			entries = append(entries, e)
		}
	}
	for _, e := range changed {
		if e != nil {
			entries = append(entries, e)
		}
	}
	patched := newList(version, l.loadedAt, entries)
	c.keepList(workspaceID, patched)
	return patched.entries, nil
}

// keepList caches l unless a list of a later version is cached already (two
// loads of different versions can finish in either order).
func (c *cache) keepList(workspaceID string, l *wsList) {
	if old, ok := c.lists.Peek(workspaceID); ok && old.version > l.version {
		return
	}
	c.lists.Add(workspaceID, l)
}

// credential is a copy of the entry's credential.
func (e *entry) credential() storage.Credential { return e.cred }

// fieldViews returns the fields as a person with VIEW sees them: the same for
// every such person, so made once per entry (a page of 50 made 150 of them
// per request), from one decryption for the secrets' hints; the plaintext is
// not kept. Callers must not modify the slice or what it points to.
func (e *entry) fieldViews(ctx context.Context, store CacheStore, t *provider.Type) ([]FieldView, error) {
	e.viewsMu.Lock()
	defer e.viewsMu.Unlock()
	if e.made {
		return e.views, nil
	}
	secrets, err := store.Unseal(ctx, e.sealed)
	if err != nil {
		return nil, err
	}
	e.views, e.made = Mask(t, Values{Plain: e.cred.Fields, Secret: secrets}), true
	return e.views, nil
}
