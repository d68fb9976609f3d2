// Package pagination is the one place that knows how a connection is paged
// (SPEC.md §4, §9): page sizes and their bounds, both directions, and opaque
// cursors. Services take an Args, check it once with Parse, and page their
// sorted results with Window (in memory) or with the Request's bounds (a query).
package pagination

import (
	"encoding/base64"
	"strings"

	"credkeep/internal/apierror"
)

// Page sizes: first and last are between Min and Max; Default without either.
const (
	Default = 50
	Min     = 1
	Max     = 200
)

// Args are a connection's arguments as the client sent them.
type Args struct {
	First, Last   *int
	After, Before *string
}

// Request is a checked Args: Limit items, read forward from After or backward
// from Before (an empty cursor: from the start or the end).
type Request struct {
	Limit    int
	Backward bool
	After    string
	Before   string
}

// Parse checks a's bounds: first and last together, or out of [Min, Max],
// are BAD_USER_INPUT on the argument at fault.
func Parse(a Args) (Request, error) {
	if a.First != nil && a.Last != nil {
		return Request{}, apierror.Invalid("last", "give first or last, not both")
	}
	r := Request{Limit: Default}
	for _, n := range []struct {
		name string
		v    *int
	}{{"first", a.First}, {"last", a.Last}} {
		if n.v == nil {
			continue
		}
		if *n.v < Min || *n.v > Max {
			return Request{}, apierror.Invalid(n.name, "%s must be between %d and %d", n.name, Min, Max)
		}
		r.Limit, r.Backward = *n.v, n.name == "last"
	}
	if a.After != nil {
		r.After = *a.After
	}
	if a.Before != nil {
		r.Before = *a.Before
	}
	return r, nil
}

// Info is what a page says about its neighbours (PageInfo).
type Info struct {
	HasPrevious, HasNext bool
}

// Window picks the page of a list of n sorted items. from is the index of the
// first item after the After cursor (0 without one), to the index of the first
// item at or after the Before cursor (n without one).
func (r Request) Window(n, from, to int) (start, end int, info Info) {
	from, to = max(from, 0), min(to, n)
	if to < from {
		to = from
	}
	if r.Backward {
		end = to
		start = max(end-r.Limit, from)
	} else {
		start = from
		end = min(start+r.Limit, to)
	}
	return start, end, Info{HasPrevious: start > 0, HasNext: end < n}
}

// Cursor encodes the parts of a position, tagged with the list's kind so a
// cursor of one list is refused by another.
func Cursor(kind string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + strings.Join(parts, "\x00")))
}

// Decode reads a cursor of kind with n parts; a cursor of another list, or not
// a cursor at all, is BAD_USER_INPUT on argument.
func Decode(argument, kind, cursor string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != n+1 || parts[0] != kind {
		return nil, apierror.Invalid(argument, "not a cursor from this list")
	}
	return parts[1:], nil
}
