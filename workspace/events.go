package workspace

import (
	"context"
	"errors"
	"sync"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/events"
	"credkeep/internal/apierror"
)

// recheckEvery is how often a subscription checks that its caller may still
// read the log: a revoked token, an expired session or a removed member loses
// the stream within this long.
var recheckEvery = 500 * time.Millisecond

// DefaultMaxSubscriptions is how many event streams one caller (a user, or an
// API token) may hold open at once on one instance.
const DefaultMaxSubscriptions = 20

// Event is one entry of a stream, or the error that ended it.
type Event struct {
	Record audit.Record
	Err    error
}

// Subscriptions are what a Service needs to stream events.
type Subscriptions struct {
	Hub *events.Hub
	// Fresh gives a context the request-scoped caches of a new request: each
	// check of a long stream must decide on current policies, not on the ones
	// cached when the stream began.
	Fresh func(context.Context) context.Context
	// Max is the number of streams per caller and instance (0: DefaultMaxSubscriptions).
	Max int

	mu   sync.Mutex
	open map[string]int // by caller
}

// SetSubscriptions enables Events.
func (s *Service) SetSubscriptions(sub *Subscriptions) {
	if sub.Max <= 0 {
		sub.Max = DefaultMaxSubscriptions
	}
	if sub.Fresh == nil {
		sub.Fresh = func(ctx context.Context) context.Context { return ctx }
	}
	sub.open = map[string]int{}
	s.subs = sub
}

// callerKey names a caller for the per-caller limit.
func callerKey(p *authn.Principal) string {
	if p.Token != nil {
		return "token:" + p.Token.ID
	}
	return "user:" + p.UserID
}

func (sub *Subscriptions) take(key string) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.open[key] >= sub.Max {
		return false
	}
	sub.open[key]++
	return true
}

func (sub *Subscriptions) give(key string) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.open[key]--; sub.open[key] <= 0 {
		delete(sub.open, key)
	}
}

// Events streams the workspace's audit entries (OWNER, ADMIN; tokens:
// AUDIT_READ) after afterSeq, or from now on when it is nil, until ctx ends or
// the caller may no longer read them: then the last Event carries the error
// and the channel closes.
func (s *Service) Events(ctx context.Context, workspaceID string, afterSeq *int64) (<-chan Event, error) {
	if s.subs == nil {
		return nil, errors.New("workspace: subscriptions are not enabled")
	}
	p, _, err := s.Require(ctx, workspaceID, authz.ActAuditRead, authn.ScopeAuditRead)
	if err != nil {
		return nil, err
	}
	if afterSeq != nil && *afterSeq < 0 {
		return nil, apierror.Invalid("afterSeq", "must be 0 or more")
	}
	key := callerKey(p)
	if !s.subs.take(key) {
		return nil, apierror.New(apierror.RateLimited, "too many subscriptions open: at most %d per caller", s.subs.Max)
	}
	stream, err := s.subs.Hub.Follow(ctx, workspaceID, afterSeq)
	if err != nil {
		s.subs.give(key)
		return nil, err
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		defer s.subs.give(key)
		defer stream.Close()
		live, stop := context.WithCancelCause(ctx)
		defer stop(nil)
		go s.recheck(live, stop, workspaceID)
		var strictUntil time.Time // after a change of access: check before each batch
		for {
			entries, err := stream.Next(live)
			if err != nil {
				if cause := context.Cause(live); ctx.Err() == nil && cause != nil && !errors.Is(cause, context.Canceled) {
					err = cause
				}
				if ctx.Err() == nil {
					select {
					case out <- Event{Err: err}:
					case <-ctx.Done():
					}
				}
				return
			}
			checked := false
			for _, e := range entries {
				if live.Err() != nil {
					break // ended (access lost): the next Next reports why
				}
				if time.Now().Before(strictUntil) && !checked {
					if err := s.mayFollow(live, workspaceID); err != nil {
						stop(err)
						break
					}
					checked = true
				}
				select {
				case out <- Event{Record: audit.RecordOf(e)}:
				case <-live.Done():
				}
				if changesAccess(audit.Action(e.Action)) {
					// The change is made after its entry is written: entries
					// that follow it go out only after a check that sees it.
					strictUntil, checked = time.Now().Add(2*recheckEvery), false
				}
			}
		}
	}()
	return out, nil
}

// changesAccess: entries after which a stream checks its caller at once.
func changesAccess(a audit.Action) bool {
	switch a {
	case audit.TokenRevoked, audit.MemberRemoved, audit.MemberRoleChanged, audit.WorkspaceDeleted:
		return true
	}
	return false
}

// mayFollow authenticates the stream's caller again and checks that it may
// still read the log: nil, a refusal, or a failure to check.
func (s *Service) mayFollow(ctx context.Context, workspaceID string) error {
	p, err := authn.Recheck(ctx)
	if err != nil {
		return err
	}
	_, _, err = s.Require(s.subs.Fresh(authn.WithPrincipal(ctx, p)), workspaceID, authz.ActAuditRead, authn.ScopeAuditRead)
	return err
}

// recheck authenticates and authorizes the stream's caller again every
// recheckEvery, and ends the stream with the reason when either fails.
func (s *Service) recheck(ctx context.Context, stop context.CancelCauseFunc, workspaceID string) {
	tick := time.NewTicker(recheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := s.mayFollow(ctx, workspaceID)
		if _, refused := apierror.As(err); refused {
			stop(err)
			return
		}
		// A failure to check (the database) is not a refusal: the next tick tries again.
	}
}
