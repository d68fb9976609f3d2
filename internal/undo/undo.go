// Package undo runs compensating steps: without multi-document transactions, a
// failed multi-step write takes back the steps that succeeded.
package undo

import (
	"context"
	"log/slog"
	"time"
)

// Run runs step with a fresh context (the request's may be why the write
// failed) and logs, never returns, its error: the caller reports the original one.
func Run(ctx context.Context, log *slog.Logger, what string, step func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := step(ctx); err != nil {
		log.ErrorContext(ctx, "compensating step failed", "step", what, "error", err)
	}
}
