package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/authn"
	"credkeep/graph"
	"credkeep/internal/apierror"
	"credkeep/internal/logging"
	"credkeep/internal/metrics"
)

// GraphQLOptions configure the GraphQL server.
type GraphQLOptions struct {
	Resolvers graph.ResolverRoot
	Logger    *slog.Logger
	// Dev opens introspection and field suggestions to everyone; otherwise only
	// platform admins have them.
	Dev bool
	// Persisted resolves persisted queries (APQ and trusted documents).
	Persisted graphql.HandlerExtension
	// Metrics counts operations; nil counts nothing.
	Metrics *metrics.Metrics
	// CORSOrigins may open WebSockets besides the server's own origin.
	CORSOrigins []string
}

// NewGraphQL returns the handler for /graphql: two gqlgen servers that differ
// only in "Did you mean ...?" suggestions, which platform admins (or everyone
// in dev mode) get and nobody else does.
func NewGraphQL(o GraphQLOptions) http.Handler {
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: o.Resolvers, Complexity: complexityRoot()})
	// Parsed and validated documents are cached by query text, shared by both.
	cache := lru.New[*ast.QueryDocument](1000)
	build := func(suggest bool) *handler.Server {
		srv := handler.New(schema)
		srv.AddTransport(websocketTransport(o.CORSOrigins))
		srv.AddTransport(sseTransport{transport.SSE{KeepAlivePingInterval: keepAlive}}) // before POST, which would take the request
		srv.AddTransport(transport.GET{})
		srv.AddTransport(incremental{}) // @defer (deferred.go); before POST, which would take the request
		srv.AddTransport(jsonPOST{})
		srv.SetQueryCache(cache)
		srv.SetParserTokenLimit(MaxParserTokens)
		srv.SetDisableSuggestion(!suggest)
		if o.Persisted != nil {
			srv.Use(o.Persisted)
		}
		srv.Use(introspectionGate{dev: o.Dev})
		srv.Use(queryLimits{schema: schema})
		srv.Use(getQueriesOnly{})
		srv.Use(subscriptionsStream{})
		srv.Use(deferNeedsMultipart{})
		srv.Use(deferredPlaceholders{})
		srv.Use(operationMetrics{m: o.Metrics})
		srv.SetErrorPresenter(presentError(o.Logger, suggest))
		srv.SetRecoverFunc(func(ctx context.Context, v any) error {
			o.Logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			return errInternalPanic
		})
		return srv
	}
	plain, suggesting := build(false), build(true)
	if o.Dev {
		return suggesting
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := authn.PrincipalFrom(r.Context()); p != nil && p.PlatformAdmin {
			suggesting.ServeHTTP(w, r)
			return
		}
		plain.ServeHTTP(w, r)
	})
}

// operationMetrics counts each executed operation by its type and first root
// field (names from the schema, never the client's operation name) and outcome.
type operationMetrics struct{ m *metrics.Metrics }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = operationMetrics{}

func (operationMetrics) ExtensionName() string                   { return "OperationMetrics" }
func (operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

func (o operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if o.m == nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome, _ = resp.Errors[0].Extensions["code"].(string)
		if !apierror.Known(outcome) {
			outcome = string(apierror.Internal)
		}
	}
	o.m.Operation(operationLabel(oc.Operation), outcome, graphql.Now().Sub(oc.Stats.OperationStart))
	return resp
}

// operationLabel is "query credential", "mutation useCredential": bounded by the schema.
func operationLabel(op *ast.OperationDefinition) string {
	if op == nil {
		return "unknown"
	}
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			return string(op.Operation) + " " + f.Name
		}
	}
	return string(op.Operation)
}

// getQueriesOnly refuses a mutation sent with GET (with a code, before gqlgen's
// own check, which has none).
type getQueriesOnly struct{}

func (getQueriesOnly) ExtensionName() string                   { return "GetQueriesOnly" }
func (getQueriesOnly) Validate(graphql.ExecutableSchema) error { return nil }

func (getQueriesOnly) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if isGET(ctx) && oc.Operation != nil && oc.Operation.Operation != ast.Query {
		return &gqlerror.Error{Message: "GET requests may only run queries; send mutations with POST",
			Extensions: map[string]any{"code": string(apierror.BadUserInput)}}
	}
	return nil
}

type getKey struct{}

func isGET(ctx context.Context) bool { v, _ := ctx.Value(getKey{}).(bool); return v }

var errInternalPanic = errors.New("panic in resolver")

// presentError is the allow-list of SPEC.md §5: client errors keep their message
// and code; GraphQL parse and validation errors keep theirs; anything else is
// logged with the request id and shown as "internal error".
func presentError(log *slog.Logger, suggest bool) graphql.ErrorPresenterFunc {
	present := presentErrorWithSuggestions(log)
	if suggest {
		return present
	}
	return func(ctx context.Context, err error) *gqlerror.Error {
		g := present(ctx, err)
		g.Message = withoutSuggestion(g.Message)
		return g
	}
}

// didYouMean is how gqlparser words every suggestion: of fields, arguments,
// enum values, input fields, types, directives and fragment types.
var didYouMean = regexp.MustCompile(`\s*Did you mean .*$`)

// withoutSuggestion cuts a "Did you mean ...?" tail: the names it offers map the
// schema for someone who may not introspect it.
func withoutSuggestion(msg string) string {
	return didYouMean.ReplaceAllString(msg, "")
}

func presentErrorWithSuggestions(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		if ae, ok := apierror.As(err); ok {
			g := graphql.DefaultErrorPresenter(ctx, err)
			g.Message = ae.Message
			g.Extensions = map[string]any{"code": string(ae.Code)}
			field := ae.Field
			if field == "" && ae.Code == apierror.BadUserInput {
				// A scalar's own check (Time) knows no field: the argument's path does.
				field = inputField(g.Path)
			}
			if field != "" {
				g.Extensions["field"] = field
			}
			for k, v := range ae.Extensions {
				g.Extensions[k] = v
			}
			if ae.Code == apierror.BadUserInput {
				withReason(g.Extensions)
			}
			return g
		}
		var g *gqlerror.Error
		if errors.As(err, &g) && g.Err == nil {
			if strings.Contains(g.Message, "token limit") {
				// The parser names its limit; say no more than for any other limit.
				return tooComplex()
			}
			code, _ := g.Extensions["code"].(string)
			if isGQLVariable(g.Path) {
				// A variable that is not of its type (an unknown enum value):
				// the caller's input, named like every other input error.
				out := &gqlerror.Error{Message: g.Message, Path: g.Path,
					Extensions: withReason(map[string]any{"code": string(apierror.BadUserInput)})}
				if f := inputField(g.Path); f != "" {
					out.Extensions["field"] = variableField(ctx, f)
				}
				return out
			}
			if apierror.Known(code) && code != string(apierror.Internal) {
				return g
			}
		}
		log.ErrorContext(ctx, "internal error", "error", err)
		out := &gqlerror.Error{
			Message:    internalMessage(ctx),
			Extensions: map[string]any{"code": string(apierror.Internal), "requestId": logging.RequestID(ctx)},
		}
		if g != nil {
			out.Path = g.Path
		} else if fc := graphql.GetFieldContext(ctx); fc != nil {
			out.Path = fc.Path()
		}
		return out
	}
}

// withReason gives a BAD_USER_INPUT error the reason and params every one
// has (SPEC.md §9): INVALID_VALUE and none, unless it says more.
func withReason(ext map[string]any) map[string]any {
	if _, ok := ext["reason"]; !ok {
		ext["reason"] = apierror.ReasonInvalidValue
	}
	if _, ok := ext["params"]; !ok {
		ext["params"] = map[string]any{}
	}
	return ext
}

// inputField names the input field at path: the elements after the first
// (the GraphQL field, or "variable"), without list indexes, without the
// conventional "input" argument, joined with dots: ["createCredential",
// "input", "expiresAt"] is "expiresAt"; ["variable", "role"] is "role";
// ["variable", "s", 0] is "s".
func inputField(path ast.Path) string {
	var names []string
	for i, el := range path {
		if n, ok := el.(ast.PathName); ok && i >= 1 {
			names = append(names, string(n))
		}
	}
	if len(names) > 1 && names[0] == "input" && !isGQLVariable(path) {
		names = names[1:]
	}
	return strings.Join(names, ".")
}

// variableField names the input field a variable is given to: for $s in
// createApiToken(input: {scopes: $s}) it is "scopes", so that the field a client
// shows the error next to does not depend on how it named its variables.
func variableField(ctx context.Context, field string) string {
	name, rest, _ := strings.Cut(field, ".")
	if !graphql.HasOperationContext(ctx) {
		return field
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil {
		return field
	}
	use := variableUse(op.SelectionSet, name, map[string]bool{})
	switch {
	case use == "":
		use = name
	case use == "input" && rest != "":
		return rest // the conventional input argument is not named, as elsewhere
	}
	if rest != "" {
		return use + "." + rest
	}
	return use
}

// variableUse finds the argument or input-object field that $name is given to.
func variableUse(set ast.SelectionSet, name string, seen map[string]bool) string {
	var inValue func(key string, v *ast.Value) string
	inValue = func(key string, v *ast.Value) string {
		if v == nil {
			return ""
		}
		if v.Kind == ast.Variable && v.Raw == name {
			return key
		}
		for _, c := range v.Children {
			k := c.Name
			if k == "" {
				k = key // a list element keeps its list's name
			}
			if u := inValue(k, c.Value); u != "" {
				return u
			}
		}
		return ""
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				if u := inValue(a.Name, a.Value); u != "" {
					return u
				}
			}
			if u := variableUse(s.SelectionSet, name, seen); u != "" {
				return u
			}
		case *ast.InlineFragment:
			if u := variableUse(s.SelectionSet, name, seen); u != "" {
				return u
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && !seen[s.Name] {
				seen[s.Name] = true
				if u := variableUse(s.Definition.SelectionSet, name, seen); u != "" {
					return u
				}
			}
		}
	}
	return ""
}

func isGQLVariable(path ast.Path) bool {
	return len(path) > 0 && path[0] == ast.PathName("variable")
}

// introspectionGate allows introspection to platform admins, or to all in dev mode.
type introspectionGate struct{ dev bool }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionGate{}

func (introspectionGate) ExtensionName() string                   { return "IntrospectionGate" }
func (introspectionGate) Validate(graphql.ExecutableSchema) error { return nil }

func (g introspectionGate) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	p := authn.PrincipalFrom(ctx)
	oc.DisableIntrospection = !(g.dev || (p != nil && p.PlatformAdmin))
	if oc.DisableIntrospection && usesIntrospection(oc.Operation.SelectionSet, map[string]bool{}) {
		// Refused as a whole, with a code, instead of gqlgen's per-field error.
		err := gqlerror.Errorf("introspection is available to platform admins only")
		err.Extensions = map[string]any{"code": string(apierror.Forbidden)}
		return err
	}
	return nil
}

// usesIntrospection reports whether a selection set (with its fragments) asks
// for __schema or __type; __typename is not introspection of the schema.
func usesIntrospection(set ast.SelectionSet, seen map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" || usesIntrospection(s.SelectionSet, seen) {
				return true
			}
		case *ast.InlineFragment:
			if usesIntrospection(s.SelectionSet, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && !seen[s.Name] {
				seen[s.Name] = true
				if usesIntrospection(s.Definition.SelectionSet, seen) {
					return true
				}
			}
		}
	}
	return false
}
