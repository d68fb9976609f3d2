// Package undo finishes multi-step writes without multi-document
// transactions: compensating steps take back the steps that succeeded (Run),
// and steps that must land even after a failure are retried until they do
// (Retry).
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

// Retry bounds: pauses grow from retryFirst to retryMost, so a step lands
// within a second of the database coming back, for retryFor (a restart).
// They are real time: they space out database calls, they date nothing.
const (
	retryFirst = 50 * time.Millisecond
	retryMost  = time.Second
	retryFor   = time.Minute
)

// Retry runs step in the background until it succeeds or retryFor has passed,
// then logs what could not be done. It is for a step that must land even when
// what failed is the database (an outage): a compensation, or the version move
// that announces a write to other instances' caches.
func Retry(ctx context.Context, log *slog.Logger, what string, step func(context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	go func() {
		deadline := time.Now().Add(retryFor)
		for pause := retryFirst; ; pause = min(2*pause, retryMost) {
			attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := step(attempt)
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				log.ErrorContext(ctx, "a step that had to land gave up", "step", what, "error", err)
				return
			}
			time.Sleep(pause)
		}
	}()
}
