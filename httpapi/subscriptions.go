package httpapi

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/authn"
	"credkeep/internal/apierror"
)

// Subscriptions (SPEC.md §12) come over a WebSocket (graphql-transport-ws, at
// GET /graphql with an Upgrade) or as Server-Sent Events (graphql-sse's
// distinct connections: POST /graphql with Accept: text/event-stream). Both
// are requests of their own kind: no deadline, no buffered answer; a
// subscription sent any other way is refused.

// keepAlive is how often an idle stream says it is alive (proxies close quiet connections).
const keepAlive = 15 * time.Second

func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// isSSE: a POST that asks for an event stream first. graphql-sse sends
// exactly that; clients that merely accept a stream among other answers
// (urql lists it after JSON) get JSON or multipart as before.
func isSSE(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	first, _, _ := strings.Cut(r.Header.Get("Accept"), ",")
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(first))
	return err == nil && mt == "text/event-stream"
}

// sseTransport is gqlgen's SSE transport for the requests isSSE picks.
type sseTransport struct{ transport.SSE }

func (t sseTransport) Supports(r *http.Request) bool { return isSSE(r) && t.SSE.Supports(r) }

func isStream(r *http.Request) bool { return isUpgrade(r) || isSSE(r) }

type streamKey struct{}

func streaming(ctx context.Context) bool { v, _ := ctx.Value(streamKey{}).(bool); return v }

type authenticatorKey struct{}

func withAuthenticator(ctx context.Context, a Authenticator) context.Context {
	return context.WithValue(ctx, authenticatorKey{}, a)
}

// websocketTransport authenticates a WebSocket by its connection_init payload
// ({"Authorization": "Bearer ..."}: browsers cannot set headers on one), or
// else by the upgrade request's header. Origins: the server's own and the
// CORS origins; the credentials are never ambient (no cookies), so another
// page cannot borrow them either way.
func websocketTransport(origins []string) wsTransport {
	return wsTransport{transport.Websocket{
		Upgrader: websocket.Upgrader{
			ReadBufferSize:  4096,
			WriteBufferSize: 4096,
			CheckOrigin: func(r *http.Request) bool {
				origin := r.Header.Get("Origin")
				if origin == "" {
					return true // not a browser
				}
				if slices.Contains(origins, origin) {
					return true
				}
				return origin == "http://"+r.Host || origin == "https://"+r.Host
			},
		},
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: keepAlive,
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			header := payload.Authorization()
			if header == "" {
				if authn.PrincipalFrom(ctx) == nil {
					// Nobody may subscribe anonymously: no connection to hold open.
					return nil, nil, errors.New("authentication required: send Authorization in the connection_init payload")
				}
				return ctx, nil, nil // the upgrade request's credentials
			}
			a, _ := ctx.Value(authenticatorKey{}).(Authenticator)
			if a == nil {
				return nil, nil, errors.New("authentication unavailable")
			}
			p, err := a.Authenticate(ctx, header)
			if err != nil || p == nil {
				// Said to the client in connection_error; the reason stays here.
				return nil, nil, errors.New("invalid or expired credentials")
			}
			ctx = authn.WithPrincipal(ctx, p)
			ctx = authn.WithRecheck(ctx, func(ctx context.Context) (*authn.Principal, error) { return a.Authenticate(ctx, header) })
			return ctx, nil, nil
		},
	}}
}

// wsTransport is gqlgen's WebSocket transport for the requests isUpgrade
// picks (gqlgen's own test takes any Upgrade header, h2c included), so that
// the middleware and the transport agree on what is a WebSocket.
type wsTransport struct{ transport.Websocket }

func (t wsTransport) Supports(r *http.Request) bool { return isUpgrade(r) }

// subscriptionsStream refuses a subscription that did not come as a stream,
// and anything but a subscription over a WebSocket.
type subscriptionsStream struct{}

func (subscriptionsStream) ExtensionName() string                   { return "SubscriptionsStream" }
func (subscriptionsStream) Validate(graphql.ExecutableSchema) error { return nil }

func (subscriptionsStream) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if oc.Operation.Operation == ast.Subscription && !streaming(ctx) {
		return &gqlerror.Error{Message: "subscriptions need a stream: a WebSocket (graphql-transport-ws) or Server-Sent Events (Accept: text/event-stream)",
			Extensions: map[string]any{"code": string(apierror.BadUserInput)}}
	}
	return nil
}
