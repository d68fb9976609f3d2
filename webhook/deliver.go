package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"credkeep/audit"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// attemptTimeout bounds one POST, answer included.
const attemptTimeout = 10 * time.Second

// retryFor is how long a delivery is retried before the webhook is turned off.
const retryFor = 24 * time.Hour

// backoff is the wait after the nth failed attempt (the last repeats).
var backoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

func wait(attempt int) time.Duration { return backoff[min(attempt, len(backoff))-1] }

// result is one attempt's outcome.
type result struct {
	at   time.Time
	code int // 0: no answer
	took time.Duration
}

func (r result) ok() bool { return r.code >= 200 && r.code < 300 }

// send POSTs entry e to w, signed, as message id. A failure is a result
// without a 2xx code; why is logged (never the body, which the receiver has).
func (s *Service) send(ctx context.Context, w Webhook, secret redact.Secret, e storage.AuditEntry, id string) result {
	at := s.now()
	res := result{at: at.UTC().Truncate(time.Millisecond)}
	key, err := signingKey(secret)
	if err != nil {
		s.log.ErrorContext(ctx, "webhook secret unusable", "webhook", w.ID, "error", err)
		return res
	}
	b, err := body(e)
	if err != nil {
		s.log.ErrorContext(ctx, "webhook body", "webhook", w.ID, "error", err)
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(b))
	if err != nil {
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "credkeep-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(at.Unix()))
	req.Header.Set("webhook-signature", sign(key, id, at, b))
	start := time.Now()
	resp, err := s.client.Do(req)
	res.took = time.Since(start)
	if err != nil {
		// Not the URL: its path or query may carry the receiver's own token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		s.log.InfoContext(ctx, "webhook delivery failed", "webhook", w.ID, "host", host(w.URL), "seq", e.Seq, "error", err)
		return res
	}
	// Read a little of the answer so the connection can be reused; keep none of it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	res.code = resp.StatusCode
	return res
}

// Deliverer runs the deliveries of this instance: it takes the lease of every
// active webhook no other instance holds and delivers for it.
type Deliverer struct {
	s      *Service
	holder string
	// every is how often it looks for webhooks to take, and how often a
	// delivery waiting for its retry looks at the clock.
	every time.Duration
	// lease is how long a lease lasts unless extended: how long a stopped
	// instance's webhooks wait before another takes them.
	lease time.Duration
}

// Deliveries are recorded (and the cursor moved) in groups: at most
// recordEvery of them, or what recordWithin brought. A crash sends at most
// those again.
const (
	recordEvery  = 200
	recordWithin = time.Second
)

// DefaultLease is how long a webhook's lease lasts.
const DefaultLease = 10 * time.Second

// NewDeliverer returns a Deliverer for this instance (holder names it).
func (s *Service) NewDeliverer(holder string, every, lease time.Duration) *Deliverer {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Deliverer{s: s, holder: holder, every: every, lease: lease}
}

func leaseName(webhookID string) string { return "webhook:" + webhookID }

// Run delivers until ctx ends. On a crash or a stop its leases run out and
// other instances go on from each webhook's cursor; what they send again has
// the same webhook-id.
func (d *Deliverer) Run(ctx context.Context) {
	running := map[string]chan struct{}{}
	tick := time.NewTicker(d.every)
	defer tick.Stop()
	for {
		for id, done := range running {
			select {
			case <-done:
				delete(running, id)
			default:
			}
		}
		ws, err := d.s.store.ActiveWebhooks(ctx)
		if err != nil && ctx.Err() == nil {
			d.s.log.WarnContext(ctx, "could not list webhooks", "error", err)
		}
		for _, w := range ws {
			if _, ok := running[w.ID]; ok {
				continue
			}
			now := d.s.now()
			ok, err := d.s.store.AcquireLease(ctx, leaseName(w.ID), d.holder, now.Add(d.lease), now)
			if err != nil && ctx.Err() == nil {
				d.s.log.WarnContext(ctx, "could not take a webhook's lease", "webhook", w.ID, "error", err)
			}
			if !ok {
				continue
			}
			done := make(chan struct{})
			running[w.ID] = done
			go func() {
				defer close(done)
				d.deliver(ctx, w.ID)
				if ctx.Err() == nil {
					// Turned off, deleted, or a failure: free to take again at once.
					_ = d.s.store.ReleaseLease(ctx, leaseName(w.ID), d.holder)
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// errLeaseLost stops a webhook's delivery on this instance.
var errLeaseLost = errors.New("webhook lease lost")

// deliver delivers one webhook's events while this instance holds its lease.
func (d *Deliverer) deliver(ctx context.Context, id string) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go d.keepLease(ctx, stop, id)
	failed := func(what string, err error) {
		if err != nil && ctx.Err() == nil && !errors.Is(err, storage.ErrNotFound) {
			d.s.log.WarnContext(ctx, "webhook delivery stopped: "+what, "webhook", id, "error", err)
		}
	}
	w, err := d.s.store.Webhook(ctx, id)
	if err != nil || !w.Active {
		failed("could not read the webhook", err)
		return
	}
	secret, err := d.s.store.WebhookSecret(ctx, id)
	if err != nil {
		failed("could not read its signing secret", err)
		return
	}
	cursor := w.Cursor
	stream, err := d.s.hub.Follow(ctx, w.WorkspaceID, &cursor)
	if err != nil {
		failed("could not follow the workspace's log", err)
		return
	}
	defer stream.Close()
	first := true // the first delivery may have attempts before this instance's
	for {
		entries, err := stream.Next(ctx)
		if err != nil {
			return
		}
		if w, err = d.s.store.Webhook(ctx, id); err != nil || !w.Active {
			return // deleted or turned off
		}
		var done []storage.Delivery
		handled, recorded := cursor, time.Now()
		read := time.Now()
		for _, e := range entries {
			if e.Seq <= w.Cursor {
				continue
			}
			if time.Since(read) > time.Second {
				// A batch can take long to deliver: a webhook paused,
				// changed or deleted meanwhile is seen within a second.
				fresh, err := d.s.store.Webhook(ctx, id)
				if err != nil || !fresh.Active {
					_ = d.record(ctx, id, done, handled)
					return
				}
				w, read = fresh, time.Now()
			}
			if !slices.Contains(w.Events, e.Action) {
				handled = e.Seq
				continue
			}
			rec, delivered := d.attempts(ctx, w, secret, e, first, &done, handled)
			first = false
			if !delivered {
				return
			}
			done = append(done, rec)
			handled = e.Seq
			if len(done) >= recordEvery || time.Since(recorded) >= recordWithin {
				// What a crash would send again stays small.
				if err := d.record(ctx, id, done, handled); err != nil {
					d.s.log.WarnContext(ctx, "could not record webhook deliveries", "webhook", id, "error", err)
					return
				}
				done, recorded = done[:0], time.Now()
			}
		}
		if err := d.record(ctx, id, done, handled); err != nil {
			d.s.log.WarnContext(ctx, "could not record webhook deliveries", "webhook", id, "error", err)
			return // the lease runs out; another instance sends them again
		}
		cursor = handled
	}
}

// record stores deliveries and moves the webhook's cursor past them.
func (d *Deliverer) record(ctx context.Context, id string, done []storage.Delivery, handled int64) error {
	ctx = context.WithoutCancel(ctx)
	if err := d.s.store.SaveDeliveries(ctx, done); err != nil {
		return err
	}
	return d.s.store.AdvanceWebhook(ctx, id, handled)
}

// attempts sends e until it is delivered (true) or retries end or the lease
// is lost (false). A failed attempt is recorded at once, with what this batch
// delivered before it, so the delivery log shows it while it waits.
func (d *Deliverer) attempts(ctx context.Context, w Webhook, secret redact.Secret, e storage.AuditEntry, resume bool, done *[]storage.Delivery, handled int64) (storage.Delivery, bool) {
	rec := storage.Delivery{ID: storage.DeliveryID(w.ID, e.Seq), WebhookID: w.ID, WorkspaceID: w.WorkspaceID,
		Seq: e.Seq, Action: e.Action, Status: storage.DeliveryPending}
	if resume {
		if prev, err := d.s.store.Delivery(ctx, rec.ID); err == nil {
			rec = prev
			if rec.Status == storage.DeliveryFailed { // re-activated: a new series of attempts
				rec.FirstAt, rec.Status = time.Time{}, storage.DeliveryPending
			}
		}
	}
	for {
		if rec.NextAttemptAt != nil && !d.waitUntil(ctx, *rec.NextAttemptAt) {
			return rec, false
		}
		if d.s.busy != nil && d.s.busy() && d.s.underLoad.Wait(ctx) != nil {
			return rec, false
		}
		res := d.s.send(ctx, w, secret, e, rec.ID)
		if ctx.Err() != nil {
			return rec, false // stopped mid-attempt: as after a crash, another instance sends it again
		}
		rec.Attempt++
		rec.At, rec.ResponseCode, rec.DurationMs = res.at, res.code, res.took.Milliseconds()
		if rec.FirstAt.IsZero() {
			rec.FirstAt = res.at
		}
		if res.ok() {
			rec.Status, rec.NextAttemptAt = storage.DeliveryDelivered, nil
			return rec, true
		}
		if res.at.Sub(rec.FirstAt) >= retryFor {
			rec.Status, rec.NextAttemptAt = storage.DeliveryFailed, nil
			_ = d.record(ctx, w.ID, append(*done, rec), handled)
			d.deactivate(ctx, w)
			return rec, false
		}
		next := res.at.Add(wait(rec.Attempt))
		if end := rec.FirstAt.Add(retryFor); next.After(end) {
			next = end
		}
		rec.NextAttemptAt = &next
		if err := d.record(ctx, w.ID, append(*done, rec), handled); err != nil {
			return rec, false
		}
		*done = (*done)[:0]
		// Settings may change while it waits (a new URL, turned off, deleted).
		if fresh, err := d.s.store.Webhook(ctx, w.ID); err != nil || !fresh.Active {
			return rec, false
		} else {
			w = fresh
		}
	}
}

// waitUntil waits until the clock reaches t (true), or ctx ends (false).
func (d *Deliverer) waitUntil(ctx context.Context, t time.Time) bool {
	for d.s.now().Before(t) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d.every):
		}
	}
	return true
}

// deactivate turns the webhook off after retries ended, on record (SYSTEM).
func (d *Deliverer) deactivate(ctx context.Context, w Webhook) {
	ctx = context.WithoutCancel(ctx)
	e := entryOf(w, audit.WebhookDeactivated, audit.Detail("reason", "no delivery succeeded for 24 hours"))
	err := audit.Do(ctx, d.s.audit, e, func() error {
		_, err := d.s.store.DeactivateWebhook(ctx, w.ID, w.UpdatedAt, d.s.now().UTC().Truncate(time.Millisecond))
		return err
	})
	if err != nil {
		d.s.log.ErrorContext(ctx, "could not deactivate a failing webhook", "webhook", w.ID, "error", err)
	}
}

// keepLease extends the lease every third of its length; when it cannot, the
// delivery stops (another instance may have taken it).
func (d *Deliverer) keepLease(ctx context.Context, stop context.CancelCauseFunc, id string) {
	tick := time.NewTicker(d.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ok, err := d.s.store.ExtendLease(ctx, leaseName(id), d.holder, d.s.now().Add(d.lease))
		if err != nil || !ok {
			if ctx.Err() == nil {
				stop(errLeaseLost)
			}
			return
		}
	}
}
