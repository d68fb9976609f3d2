// Package gqlscalar holds credkeep's own GraphQL scalars. Time is RFC 3339
// (SPEC.md §4, §8): an input that is not an RFC 3339 date-time is the caller's
// mistake, answered BAD_USER_INPUT on that input field, never INTERNAL.
package gqlscalar

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"credkeep/internal/apierror"
)

// MarshalTime writes t in RFC 3339 with nanoseconds, in UTC as stored.
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 date-time (a string with a date, a time and
// an offset or Z). The error names no field: the error presenter adds the input
// field from the error's path.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, apierror.InvalidBecause("", apierror.ReasonInvalidFormat, map[string]any{"format": "RFC3339"}, "must be an RFC 3339 date-time such as 2027-01-31T12:00:00Z")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, apierror.InvalidBecause("", apierror.ReasonInvalidFormat, map[string]any{"format": "RFC3339"}, "must be an RFC 3339 date-time such as 2027-01-31T12:00:00Z")
	}
	return t, nil
}
