// Package webhook delivers a workspace's events (its audit entries) to the
// HTTPS endpoints its OWNERs and ADMINs register (SPEC.md §12): signed per
// Standard Webhooks, in seq order, at least once, retried with backoff for 24
// hours, and then the webhook is turned off. One instance delivers for a
// webhook at a time (a lease); any instance goes on where another stopped,
// from the webhook's cursor (deliver.go).
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/events"
	"credkeep/internal/apierror"
	"credkeep/internal/names"
	"credkeep/internal/netguard"
	"credkeep/internal/pagination"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// Store is what webhooks need of storage.
type Store interface {
	InsertWebhook(ctx context.Context, w storage.Webhook, secret redact.Secret) error
	Webhook(ctx context.Context, id string) (storage.Webhook, error)
	WebhookSecret(ctx context.Context, id string) (redact.Secret, error)
	WebhooksOf(ctx context.Context, workspaceID string) ([]storage.Webhook, error)
	ActiveWebhooks(ctx context.Context) ([]storage.Webhook, error)
	UpdateWebhook(ctx context.Context, id string, c storage.WebhookChange, now time.Time) (storage.Webhook, error)
	DeactivateWebhook(ctx context.Context, id string, seen, now time.Time) (bool, error)
	AdvanceWebhook(ctx context.Context, id string, seq int64) error
	DeleteWebhook(ctx context.Context, id string) error
	SaveDeliveries(ctx context.Context, ds []storage.Delivery) error
	Delivery(ctx context.Context, id string) (storage.Delivery, error)
	DeliveriesOf(ctx context.Context, webhookID string, before int64, limit int) ([]storage.Delivery, int64, error)
	AuditEntry(ctx context.Context, log string, seq int64) (storage.AuditEntry, error)
	AcquireLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
	ExtendLease(ctx context.Context, name, holder string, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Access decides who may manage a workspace's webhooks (the workspace service).
type Access interface {
	Require(ctx context.Context, workspaceID string, act authz.WorkspaceAction, scope authn.Scope) (*authn.Principal, authz.Role, error)
}

// Tail says where a log ends.
type Tail interface {
	LastSeq(ctx context.Context, log string) (int64, error)
}

// Service manages webhooks and delivers to them.
type Service struct {
	store  Store
	access Access
	audit  audit.Recorder
	tail   Tail
	hub    *events.Hub
	client *http.Client
	// allowPrivate (CREDKEEP_ALLOW_PRIVATE_TARGETS) also allows http:// URLs.
	allowPrivate bool
	// busy and underLoad pace deliveries while requests are being answered.
	busy      func() bool
	underLoad *rate.Limiter
	now       func() time.Time
	log       *slog.Logger
}

// Options configure a Service.
type Options struct {
	Store        Store
	Access       Access
	Audit        audit.Recorder
	Tail         Tail
	Hub          *events.Hub
	Guard        *netguard.Guard
	AllowPrivate bool
	Now          func() time.Time
	Log          *slog.Logger
	// Busy reports whether the instance is answering requests; while it is,
	// this instance makes at most RateUnderLoad deliveries per second (0:
	// DefaultRateUnderLoad), so that the event path does not take the CPU
	// the requests need. Nil: never paced.
	Busy          func() bool
	RateUnderLoad int
}

// DefaultRateUnderLoad is how many deliveries per second an instance makes,
// all webhooks together, while it answers requests. A backlog built under
// load is delivered at full speed once the load is over.
const DefaultRateUnderLoad = 100

// New returns a Service.
func New(o Options) *Service {
	client := o.Guard.HTTPClient()
	client.Timeout = attemptTimeout
	// A redirect is an answer that is not 2xx: the event is not delivered.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if tr, ok := client.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = 16
	}
	if o.RateUnderLoad <= 0 {
		o.RateUnderLoad = DefaultRateUnderLoad
	}
	return &Service{store: o.Store, access: o.Access, audit: o.Audit, tail: o.Tail, hub: o.Hub, client: client,
		allowPrivate: o.AllowPrivate, now: o.Now, log: o.Log,
		busy: o.Busy, underLoad: rate.NewLimiter(rate.Limit(o.RateUnderLoad), max(o.RateUnderLoad/10, 1))}
}

// Webhook is a webhook as its managers see it.
type Webhook = storage.Webhook

// Delivery is one event sent (or to be sent) to a webhook.
type Delivery = storage.Delivery

// CreateInput is createWebhook's input.
type CreateInput struct {
	WorkspaceID, Name, URL string
	Events                 []string
	Description            *string
}

// UpdateInput is updateWebhook's input; nil fields stay.
type UpdateInput struct {
	ID                     string
	Name, URL, Description *string
	DescriptionSet         bool // description given (null clears it)
	Events                 []string
	Active                 *bool
}

const (
	maxURL         = 2048
	maxDescription = 1000
	maxEvents      = 64
)

func (s *Service) require(ctx context.Context, workspaceID string) (*authn.Principal, error) {
	p, _, err := s.access.Require(ctx, workspaceID, authz.ActWebhooksManage, authn.ScopeWorkspacesAdmin)
	return p, err
}

// checkURL is the rule for a webhook's URL: https (http too when private
// targets are allowed, for development), no user name or password (they would
// be shown to every manager), no fragment, and an IP literal that the outbound
// policy allows. A name is checked when it is resolved, at every delivery.
func (s *Service) checkURL(raw string) (string, *apierror.Error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > maxURL {
		return "", apierror.Invalid("url", "must be an https URL of at most %d characters", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", apierror.Invalid("url", "is not an absolute URL")
	}
	if u.Scheme != "https" && !(s.allowPrivate && u.Scheme == "http") {
		return "", apierror.Invalid("url", "must use https")
	}
	if u.User != nil {
		return "", apierror.Invalid("url", "must not hold a user name or password: the signature authenticates credkeep")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", apierror.Invalid("url", "must not have a fragment")
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !s.allowPrivate && !netguard.Allowed(ip) {
		return "", apierror.Invalid("url", "points to an address outbound calls may not reach")
	}
	return u.String(), nil
}

func checkEvents(evs []string) ([]string, *apierror.Error) {
	if len(evs) == 0 || len(evs) > maxEvents {
		return nil, apierror.Invalid("events", "name at least one audit action")
	}
	out := slices.Clone(evs)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkDescription(d *string) (string, *apierror.Error) {
	if d == nil {
		return "", nil
	}
	v := strings.TrimSpace(*d)
	if len([]rune(v)) > maxDescription {
		return "", apierror.Invalid("description", "must be at most %d characters", maxDescription)
	}
	return v, nil
}

func entryOf(w Webhook, a audit.Action, details ...storage.AuditDetail) audit.Entry {
	return audit.Entry{WorkspaceID: w.WorkspaceID, Action: a, Outcome: audit.Success,
		TargetType: audit.TargetWebhook, TargetID: w.ID, TargetName: w.Name, Details: details}
}

// host is what audit entries say of a URL: its host, never its path or query
// (which may carry a receiver's own token).
func host(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// Create registers a webhook (OWNER, ADMIN; tokens: WORKSPACES_ADMIN). It
// receives the events written after it; its signing secret is returned once.
func (s *Service) Create(ctx context.Context, in CreateInput) (Webhook, redact.Secret, error) {
	p, err := s.require(ctx, in.WorkspaceID)
	if err != nil {
		return Webhook{}, redact.Secret{}, err
	}
	var errs []*apierror.Error
	name, nerr := names.Name(in.Name)
	if nerr != nil {
		if ae, ok := apierror.As(nerr); ok {
			errs = append(errs, ae)
		} else {
			return Webhook{}, redact.Secret{}, nerr
		}
	}
	u, uerr := s.checkURL(in.URL)
	evs, eerr := checkEvents(in.Events)
	desc, derr := checkDescription(in.Description)
	for _, e := range []*apierror.Error{uerr, eerr, derr} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return Webhook{}, redact.Secret{}, apierror.Join(errs)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return Webhook{}, redact.Secret{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Webhook{}, redact.Secret{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	w := Webhook{ID: id.String(), WorkspaceID: in.WorkspaceID, Name: name, URL: u, Events: evs, Description: desc,
		Active: true, CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID}
	err = audit.Do(ctx, s.audit, entryOf(w, audit.WebhookCreated, audit.Detail("host", host(u)), audit.Detail("events", strings.Join(evs, ","))), func() error {
		// From the end of the log, its own entry included.
		last, err := s.tail.LastSeq(ctx, w.WorkspaceID)
		if err != nil {
			return err
		}
		w.Cursor = last
		return s.store.InsertWebhook(ctx, w, secret)
	})
	if err != nil {
		return Webhook{}, redact.Secret{}, err
	}
	return w, secret, nil
}

// get loads a webhook its caller may manage; NOT_FOUND for anyone else.
func (s *Service) get(ctx context.Context, id string) (Webhook, error) {
	w, err := s.store.Webhook(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Webhook{}, apierror.NotFoundErr("webhook")
	}
	if err != nil {
		return Webhook{}, err
	}
	if _, err := s.require(ctx, w.WorkspaceID); err != nil {
		if apierror.Is(err, apierror.Forbidden) {
			return Webhook{}, err
		}
		return Webhook{}, apierror.NotFoundErr("webhook")
	}
	return w, nil
}

// Update changes a webhook (OWNER, ADMIN; tokens: WORKSPACES_ADMIN).
// Re-activating one resumes delivery where it stopped.
func (s *Service) Update(ctx context.Context, in UpdateInput) (Webhook, error) {
	w, err := s.get(ctx, in.ID)
	if err != nil {
		return Webhook{}, err
	}
	var c storage.WebhookChange
	var errs []*apierror.Error
	var changed []string
	if in.Name != nil {
		n, err := names.Name(*in.Name)
		if ae, ok := apierror.As(err); ok {
			errs = append(errs, ae)
		} else if err != nil {
			return Webhook{}, err
		}
		c.Name, changed = &n, append(changed, "name")
	}
	if in.URL != nil {
		u, e := s.checkURL(*in.URL)
		if e != nil {
			errs = append(errs, e)
		}
		c.URL, changed = &u, append(changed, "url")
	}
	if in.Events != nil {
		evs, e := checkEvents(in.Events)
		if e != nil {
			errs = append(errs, e)
		}
		c.Events, changed = evs, append(changed, "events")
	}
	if in.DescriptionSet {
		d, e := checkDescription(in.Description)
		if e != nil {
			errs = append(errs, e)
		}
		c.Description, changed = &d, append(changed, "description")
	}
	if in.Active != nil {
		c.Active, changed = in.Active, append(changed, "active")
	}
	if len(errs) > 0 {
		return Webhook{}, apierror.Join(errs)
	}
	if len(changed) == 0 {
		return w, nil
	}
	details := []storage.AuditDetail{audit.Detail("changed", strings.Join(changed, ","))}
	if c.URL != nil {
		details = append(details, audit.Detail("host", host(*c.URL)))
	}
	if c.Active != nil {
		details = append(details, audit.Detail("active", strconv.FormatBool(*c.Active)))
	}
	var out Webhook
	err = audit.Do(ctx, s.audit, entryOf(w, audit.WebhookUpdated, details...), func() (err error) {
		out, err = s.store.UpdateWebhook(ctx, w.ID, c, s.now().UTC().Truncate(time.Millisecond))
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return Webhook{}, apierror.NotFoundErr("webhook")
	}
	return out, err
}

// Delete removes a webhook and its deliveries (OWNER, ADMIN; tokens: WORKSPACES_ADMIN).
func (s *Service) Delete(ctx context.Context, id string) error {
	w, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	err = audit.Do(ctx, s.audit, entryOf(w, audit.WebhookDeleted), func() error { return s.store.DeleteWebhook(ctx, id) })
	if errors.Is(err, storage.ErrNotFound) {
		return apierror.NotFoundErr("webhook")
	}
	return err
}

// List returns a workspace's webhooks (OWNER, ADMIN; tokens: WORKSPACES_ADMIN).
func (s *Service) List(ctx context.Context, workspaceID string) ([]Webhook, error) {
	if _, err := s.require(ctx, workspaceID); err != nil {
		return nil, err
	}
	return s.store.WebhooksOf(ctx, workspaceID)
}

// DeliveryPage is a page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	Cursors    []string
	Total      int
	HasNext    bool
	HasPrev    bool
}

const deliveryCursor = "delivery"

// Deliveries returns a page of a webhook's delivery log; the caller has the
// webhook from List, Create or Update (and so may manage it).
func (s *Service) Deliveries(ctx context.Context, webhookID string, first *int, after *string) (DeliveryPage, error) {
	limit := 20
	if first != nil {
		if *first < 1 || *first > 100 {
			return DeliveryPage{}, apierror.Invalid("first", "must be between 1 and 100")
		}
		limit = *first
	}
	var before int64
	if after != nil && *after != "" {
		parts, err := pagination.Decode("after", deliveryCursor, *after, 1)
		if err != nil {
			return DeliveryPage{}, err
		}
		n, perr := strconv.ParseInt(parts[0], 10, 64)
		if perr != nil || n < 1 {
			return DeliveryPage{}, apierror.Invalid("after", "not a cursor from this list")
		}
		before = n
	}
	ds, total, err := s.store.DeliveriesOf(ctx, webhookID, before, limit+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	p := DeliveryPage{Total: int(total), HasPrev: before > 0}
	if len(ds) > limit {
		ds, p.HasNext = ds[:limit], true
	}
	p.Deliveries = ds
	for _, d := range ds {
		p.Cursors = append(p.Cursors, pagination.Cursor(deliveryCursor, strconv.FormatInt(d.Seq, 10)))
	}
	return p, nil
}

// Redeliver sends a delivery again now, with the same webhook-id, and
// records the attempt (OWNER, ADMIN; tokens: WORKSPACES_ADMIN).
func (s *Service) Redeliver(ctx context.Context, deliveryID string) (Delivery, error) {
	d, err := s.store.Delivery(ctx, deliveryID)
	if errors.Is(err, storage.ErrNotFound) {
		return Delivery{}, apierror.NotFoundErr("delivery")
	}
	if err != nil {
		return Delivery{}, err
	}
	w, err := s.get(ctx, d.WebhookID)
	if err != nil {
		if apierror.Is(err, apierror.NotFound) {
			return Delivery{}, apierror.NotFoundErr("delivery")
		}
		return Delivery{}, err
	}
	e, err := s.store.AuditEntry(ctx, w.WorkspaceID, d.Seq)
	if err != nil {
		return Delivery{}, err
	}
	secret, err := s.store.WebhookSecret(ctx, w.ID)
	if err != nil {
		return Delivery{}, err
	}
	res := s.send(ctx, w, secret, e, d.ID)
	d.Attempt++
	d.At, d.DurationMs, d.ResponseCode = res.at, res.took.Milliseconds(), res.code
	if res.ok() {
		d.Status, d.NextAttemptAt = storage.DeliveryDelivered, nil
	} else if d.Status != storage.DeliveryPending {
		d.Status = storage.DeliveryFailed
	}
	if err := s.store.SaveDeliveries(ctx, []storage.Delivery{d}); err != nil {
		return Delivery{}, err
	}
	return d, nil
}
