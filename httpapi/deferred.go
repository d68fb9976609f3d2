package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/internal/apierror"
)

// @defer is delivered incrementally over multipart/mixed (gqlgen's
// MultipartMixed transport, the format Apollo Client reads), to clients that
// accept it. A plain JSON answer cannot carry the deferred parts, so an
// operation with @defer from a client that does not accept multipart/mixed is
// refused rather than answered with the deferred fields silently missing.

// acceptsMultipart reports whether the client takes an incremental answer.
func acceptsMultipart(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "multipart/mixed")
}

// streamed is the writer of an incremental answer: it streams (Flush), and
// keeps the answer out of every cache whatever the transport set.
type streamed struct {
	http.ResponseWriter
	wrote bool
}

func (s *streamed) header() {
	if !s.wrote {
		s.wrote = true
		s.ResponseWriter.Header().Set("Cache-Control", "no-store")
	}
}

func (s *streamed) WriteHeader(code int) {
	s.header()
	s.ResponseWriter.WriteHeader(code)
}

func (s *streamed) Write(p []byte) (int, error) {
	s.header()
	return s.ResponseWriter.Write(p)
}

func (s *streamed) Flush() {
	s.header()
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// deferNeedsMultipart refuses @defer from a client that would get no deferred parts.
type deferNeedsMultipart struct{}

func (deferNeedsMultipart) ExtensionName() string                   { return "DeferNeedsMultipart" }
func (deferNeedsMultipart) Validate(graphql.ExecutableSchema) error { return nil }

func (deferNeedsMultipart) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Doc == nil || strings.Contains(oc.Headers.Get("Accept"), "multipart/mixed") || !usesDefer(oc.Doc) {
		return nil
	}
	return &gqlerror.Error{Message: "@defer needs an incremental answer: send Accept: multipart/mixed",
		Extensions: map[string]any{"code": string(apierror.BadRequest)}}
}

// usesDefer reports whether a document has a @defer anywhere.
func usesDefer(doc *ast.QueryDocument) bool {
	var walk func(ast.SelectionSet) bool
	walk = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			var dirs ast.DirectiveList
			var children ast.SelectionSet
			switch s := sel.(type) {
			case *ast.Field:
				dirs, children = s.Directives, s.SelectionSet
			case *ast.InlineFragment:
				dirs, children = s.Directives, s.SelectionSet
			case *ast.FragmentSpread:
				dirs = s.Directives
			}
			if dirs.ForName("defer") != nil || walk(children) {
				return true
			}
		}
		return false
	}
	for _, op := range doc.Operations {
		if walk(op.SelectionSet) {
			return true
		}
	}
	for _, f := range doc.Fragments {
		if walk(f.SelectionSet) {
			return true
		}
	}
	return false
}
