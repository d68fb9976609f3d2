package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/internal/apierror"
)

// @defer is delivered incrementally over multipart/mixed (gqlgen's
// MultipartMixed transport, the format Apollo Client reads), to clients that
// accept it. A plain JSON answer cannot carry the deferred parts, so an
// operation with @defer from a client that does not accept multipart/mixed is
// refused rather than answered with the deferred fields silently missing.

// incremental answers over multipart/mixed only the operations that use
// @defer. gqlgen's MultipartMixed transport takes every POST whose Accept
// names multipart/mixed, and urql names it on every request: its plain queries
// came back as one-part multipart bodies, whose streamed reading urql then
// aborted (found by conformance/urql.mjs). Every other request goes to POST.
type incremental struct{ transport.MultipartMixed }

func (t incremental) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		transport.SendErrorf(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if deferred(r, body, exec) {
		t.MultipartMixed.Do(w, r, exec)
		return
	}
	jsonPOST{}.Do(w, r, exec)
}

// deferLike finds the @defer directive in a query text; a match that is not
// one (in a string or a comment) only costs a multipart answer.
var deferLike = regexp.MustCompile(`@\s*defer\b`)

// deferred reports whether the operation of a POST body uses @defer: from its
// text when it has one, else (a persisted query named by hash or id) from the
// document the executor resolves, which a wrong or unknown id leaves false
// (POST then answers the error).
func deferred(r *http.Request, body []byte, exec graphql.GraphExecutor) bool {
	var params graphql.RawParams
	if json.Unmarshal(body, &params) != nil {
		return false
	}
	if params.Query != "" {
		return deferLike.MatchString(params.Query)
	}
	params.Headers = r.Header
	oc, errs := exec.CreateOperationContext(r.Context(), &params)
	return errs == nil && oc != nil && oc.Doc != nil && usesDefer(oc.Doc)
}

// acceptsMultipart reports whether a client with these request headers takes
// an incremental answer.
func acceptsMultipart(h http.Header) bool {
	return strings.Contains(h.Get("Accept"), "multipart/mixed")
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
	if oc.Doc == nil || !strings.Contains(oc.RawQuery, "defer") || acceptsMultipart(oc.Headers) || !usesDefer(oc.Doc) {
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

// deferredPlaceholders removes from an initial answer the fields that come
// later. gqlgen writes a deferred fragment's fields as null in the initial
// payload; the incremental delivery format leaves them out, and Apollo Client
// takes a present null for the final value (found by conformance/apollo.mjs):
// it reported the result complete with the deferred fields null.
type deferredPlaceholders struct{}

func (deferredPlaceholders) ExtensionName() string                   { return "DeferredPlaceholders" }
func (deferredPlaceholders) Validate(graphql.ExecutableSchema) error { return nil }

func (deferredPlaceholders) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || resp.HasNext == nil || !*resp.HasNext || resp.Path != nil || len(resp.Data) == 0 {
		return resp // not an initial answer with more to come
	}
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil {
		return resp
	}
	var data any
	if json.Unmarshal(resp.Data, &data) != nil {
		return resp
	}
	stripDeferred(data, oc.Operation.SelectionSet, oc.Doc.Fragments, false)
	if b, err := json.Marshal(data); err == nil {
		resp.Data = b
	}
	return resp
}

// stripDeferred walks value along set; in a deferred fragment (deferred), a
// field still null is a placeholder and is removed.
func stripDeferred(value any, set ast.SelectionSet, fragments ast.FragmentDefinitionList, deferred bool) {
	switch v := value.(type) {
	case []any:
		for _, item := range v {
			stripDeferred(item, set, fragments, deferred)
		}
	case map[string]any:
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				child, ok := v[key]
				if deferred && ok && child == nil {
					delete(v, key)
					continue
				}
				stripDeferred(child, s.SelectionSet, fragments, false)
			case *ast.InlineFragment:
				stripDeferred(v, s.SelectionSet, fragments, deferred || s.Directives.ForName("defer") != nil)
			case *ast.FragmentSpread:
				if f := fragments.ForName(s.Name); f != nil {
					stripDeferred(v, f.SelectionSet, fragments, deferred || s.Directives.ForName("defer") != nil)
				}
			}
		}
	}
}
