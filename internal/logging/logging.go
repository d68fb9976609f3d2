// Package logging sets up log/slog for credkeep: JSON or text output, and a
// request id carried in the context that every log line made with the context
// (logger.InfoContext(ctx, ...)) includes.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying a request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a random request id (16 hex characters).
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// New returns a logger writing to w in format "json" or "text" at level.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(contextHandler{h})
}

// contextHandler adds the context's request id to each record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// AtLeast returns a logger that drops records below level: for chatty libraries
// (the embedded database) whose informational lines are noise in credkeep's log.
// Attributes and groups a library adds (FerretDB adds some to a logger per SQL
// statement) are applied only when a record is written: the JSON handler
// encodes them at once, which cost 3% of the server's CPU for records never
// written.
func AtLeast(l *slog.Logger, level slog.Level) *slog.Logger {
	return slog.New(minLevelHandler{base: l.Handler(), min: level})
}

type minLevelHandler struct {
	base slog.Handler
	min  slog.Level
	// with is what WithAttrs and WithGroup added, in order, not applied yet.
	with []func(slog.Handler) slog.Handler
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.base.Enabled(ctx, l)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	out := h.base
	for _, w := range h.with {
		out = w(out)
	}
	return out.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.and(func(next slog.Handler) slog.Handler { return next.WithAttrs(attrs) })
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return h.and(func(next slog.Handler) slog.Handler { return next.WithGroup(name) })
}

func (h minLevelHandler) and(w func(slog.Handler) slog.Handler) minLevelHandler {
	// A copy, never an append into a slice another handler shares.
	h.with = append(h.with[:len(h.with):len(h.with)], w)
	return h
}
