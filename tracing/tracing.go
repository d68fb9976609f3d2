// Package tracing sends OpenTelemetry traces over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set:
// a span per HTTP request, continuing the caller's W3C traceparent, a span per
// database command below it, and spans for key operations (storage). Without
// an endpoint there is no Tracing: nothing is wrapped and nothing is recorded.
//
// Spans carry names and shapes, never values: a request span has the method,
// the path (never the query string, which may hold an OAuth code) and the
// status; a database span the command, database and collection (the command
// document itself is off: it holds filters such as token hashes).
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/felixge/httpsnoop"
	"go.mongodb.org/mongo-driver/event"
	"go.opentelemetry.io/contrib/instrumentation/go.mongodb.org/mongo-driver/mongo/otelmongo"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is the process's tracer provider. A nil *Tracing traces nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// Enabled reports whether the environment asks for traces.
func Enabled(lookup func(string) (string, bool)) bool {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if v, ok := lookup(k); ok && v != "" {
			return true
		}
	}
	return false
}

// New starts exporting to the OTLP/HTTP endpoint the OTEL_* environment
// names (the exporter reads OTEL_EXPORTER_OTLP_* itself: endpoint, headers,
// timeout, TLS). OTEL_SERVICE_NAME names the service (default credkeep).
//
// Export failures go to log, with any user:password of a URL in them removed
// (the SDK's default prints them to stderr as they are).
func New(ctx context.Context, lookup func(string) (string, bool), version string, log *slog.Logger) (*Tracing, error) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("traces not exported", "error", userinfo.ReplaceAllString(err.Error(), "://"))
	}))
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	name := "credkeep"
	if v, ok := lookup("OTEL_SERVICE_NAME"); ok && v != "" {
		name = v
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(name), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{provider: tp, tracer: tp.Tracer("credkeep")}, nil
}

// userinfo matches the credentials part of a URL.
var userinfo = regexp.MustCompile(`://[^/@\s]*@`)

// Shutdown sends the spans still queued and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Handler wraps next with a server span per request. A valid traceparent
// header makes the span a child of the caller's; the span's context is what
// every handler below sees, so database and key spans nest under it.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	prop := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, spanName(r), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPath(r.URL.Path),
		))
		defer span.End()
		// httpsnoop keeps the writer's Flusher and Hijacker: streams and
		// WebSockets pass through this handler too.
		m := httpsnoop.CaptureMetrics(next, w, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(m.Code), attribute.Int64("http.response.body.size", m.Written))
		if m.Code >= 500 {
			span.SetStatus(codes.Error, http.StatusText(m.Code))
		}
	})
}

// spanName is the method and, for credkeep's own endpoints, the path; any
// other path is left out of the name (it is an attribute), so that names stay few.
func spanName(r *http.Request) string {
	switch r.URL.Path {
	case "/graphql", "/healthz", "/readyz", "/metrics", "/":
		return r.Method + " " + r.URL.Path
	}
	return r.Method
}

// Monitor is the database driver's command monitor: a span per command, under
// the span of the context the command runs with. Nil without tracing.
func (t *Tracing) Monitor() *event.CommandMonitor {
	if t == nil {
		return nil
	}
	return otelmongo.NewMonitor(otelmongo.WithTracerProvider(t.provider), otelmongo.WithCommandAttributeDisabled(true))
}

// Start starts a span named name under the span of ctx, with the tracer
// provider that span came from. With no tracing, or outside a traced request
// (no recording span in ctx), it does nothing. end records err, if any, and
// ends the span.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, func(err error)) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noEnd
	}
	ctx, span := parent.TracerProvider().Tracer("credkeep").Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}
}

func noEnd(error) {}
