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

// retryEvery and retryFor bound Retry: a step is tried this often, for this
// long, which covers a database restart.
const (
	retryEvery = 250 * time.Millisecond
	retryFor   = time.Minute
)

// Retry runs step in the background until it succeeds or retryFor has passed,
// then logs what could not be done. It is for a compensation that must land
// even when the failure being compensated is the database's (an outage).
func Retry(ctx context.Context, log *slog.Logger, what string, step func(context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	go func() {
		deadline := time.Now().Add(retryFor)
		for {
			attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := step(attempt)
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				log.ErrorContext(ctx, "compensating step failed", "step", what, "error", err)
				return
			}
			time.Sleep(retryEvery)
		}
	}()
}
