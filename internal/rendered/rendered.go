// Package rendered keeps an object's rendered API form (its JSON, as a query
// selected it) so that the next request selecting the same fields of the same
// object renders nothing. A Cache belongs to one immutable version of one
// object: whoever owns the object drops its Cache with the version, so a
// rendering is never served for data it was not made from.
//
// A rendering is filed under the selection it answers and a variant: what
// else, beyond the object, the rendering depends on (the viewer's access level,
// for instance). The owner of the object says what the variant is; the caller
// says which selections may be cached at all.
package rendered

import (
	"slices"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// slots is how many renderings one object keeps: a few queries, or a few
// kinds of viewer, share it; more would replace each other in turn.
const slots = 4

// Cache holds a few renderings of one object. The zero Cache is empty and
// ready to use; a Cache must not be copied after first use.
type Cache struct {
	mu   sync.Mutex
	kept [slots]rendering
	next int
}

type rendering struct {
	// sel is the selection the JSON answers, element by element: the same
	// parsed query (gqlgen caches documents) gives the same elements, and
	// holding them keeps their addresses from being reused by another query.
	sel     ast.SelectionSet
	variant string
	json    []byte
}

// Get returns the JSON filed under sel and variant. The bytes are shared:
// callers must not modify them.
func (c *Cache) Get(sel ast.SelectionSet, variant string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.kept {
		if r := &c.kept[i]; r.json != nil && r.variant == variant && sameSelection(r.sel, sel) {
			return r.json, true
		}
	}
	return nil, false
}

// Put files json under sel and variant, replacing the oldest rendering when
// all slots are taken. It keeps sel's elements (not the slice, which the
// caller may reuse) and json as given.
func (c *Cache) Put(sel ast.SelectionSet, variant string, json []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.kept {
		if r := &c.kept[i]; r.json != nil && r.variant == variant && sameSelection(r.sel, sel) {
			r.json = json
			return
		}
	}
	c.kept[c.next] = rendering{sel: slices.Clone(sel), variant: variant, json: json}
	c.next = (c.next + 1) % slots
}

// sameSelection compares selections element by element, by identity: two
// parses of one query are different selections (a miss, never a wrong hit).
func sameSelection(a, b ast.SelectionSet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
