// Package lifecycle is the scheduler of credential deadlines (SPEC.md §12):
// it writes CREDENTIAL_EXPIRING (14, 3 and 1 days before), CREDENTIAL_EXPIRED
// and CREDENTIAL_ROTATION_DUE entries into each workspace's audit log, the
// one event stream, as SYSTEM.
//
// One instance at a time runs it (a lease in the database), and each notice
// is written once across restarts and instances: a notice is marked written
// after its entry, and before writing one whose mark is missing the
// scheduler looks for the entry in the log (the mark may be what a crash
// lost). It runs in a goroutine of its own and takes no lock a request waits on.
package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"credkeep/audit"
	"credkeep/credential"
	"credkeep/internal/pagination"
	"credkeep/storage"
)

// Store is what the scheduler needs from storage.
type Store interface {
	NoticeWritten(ctx context.Context, key string) (bool, error)
	MarkNoticeWritten(ctx context.Context, key, workspaceID, credentialID string, at time.Time) error
	AcquireLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
	ExtendLease(ctx context.Context, name, holder string, until time.Time) (bool, error)
	// ReadEpochs: the data epoch moves after every write of a credential
	// (package coherence), so a round can tell that nothing changed.
	ReadEpochs(ctx context.Context) (storage.Epochs, error)
}

// Credentials is where a round reads the credentials with deadlines
// (credential.Service: on the embedded database, from its cache).
type Credentials interface {
	CredentialsWithDeadlines(ctx context.Context) ([]storage.Credential, error)
}

// warnDays are the days before an expiry at which it is announced.
var warnDays = []int{14, 3, 1}

const leaseName = "lifecycle-scheduler"

// Scheduler writes the notices of credential deadlines.
type Scheduler struct {
	store    Store
	creds    Credentials
	journal  audit.Journal
	now      func() time.Time
	holder   string // this instance, for the lease
	interval time.Duration
	log      *slog.Logger

	// last is what the last complete round read, so that the next one can
	// skip the read of the credentials with deadlines. That read is one
	// index lookup on MongoDB and the cached lists on the embedded database,
	// but there, beyond the lists the cache keeps, it decodes every
	// credential of every workspace (FerretDB v1 pushes no filter but _id
	// down): seconds of CPU at 50,000 credentials.
	last round
}

// round is a complete round: the data epoch read before its credentials,
// the earliest deadline of those after the round (zero: none), and when.
type round struct {
	epoch int64
	next  time.Time
	at    time.Time
}

// rescanEvery bounds how long rounds skip the read: the backstop, as the
// caches' ages are, for a write whose epoch move was lost with its process.
const rescanEvery = time.Hour

// unchanged reports whether a round at now, with the data epoch at epoch,
// has nothing to do: no credential changed since the last round (the epoch
// stands where it was read before that round's read), no deadline of theirs
// has come, and the last read is recent.
func (r round) unchanged(epoch int64, now time.Time) bool {
	return !r.at.IsZero() && epoch == r.epoch && (r.next.IsZero() || now.Before(r.next)) && now.Sub(r.at) < rescanEvery
}

// New returns a Scheduler that looks every interval. holder names this
// instance (unique among instances).
func New(store Store, creds Credentials, journal audit.Journal, now func() time.Time, holder string, interval time.Duration, log *slog.Logger) *Scheduler {
	return &Scheduler{store: store, creds: creds, journal: journal, now: now, holder: holder, interval: interval, log: log}
}

// Run looks at once and then every interval, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "credential deadlines: a round failed; the next one retries", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs one round if this instance holds the lease (taking it when it is
// free), and returns how many notices it wrote.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.now()
	until := now.Add(2 * s.interval) // a holder that stops is replaced within two rounds
	held, err := s.store.ExtendLease(ctx, leaseName, s.holder, until)
	if err == nil && !held {
		held, err = s.store.AcquireLease(ctx, leaseName, s.holder, until, now)
	}
	if err != nil || !held {
		return 0, err
	}
	epochs, err := s.store.ReadEpochs(ctx)
	if err != nil {
		return 0, err
	}
	if s.last.unchanged(epochs.Data, now) {
		return 0, nil
	}
	creds, err := s.creds.CredentialsWithDeadlines(ctx)
	if err != nil {
		return 0, err
	}
	written := 0
	var next time.Time
	for _, c := range creds {
		for _, n := range notices(c, now) {
			ok, err := s.write(ctx, c, n)
			if err != nil {
				return written, err // the next round reads again
			}
			if ok {
				written++
			}
		}
		if d := nextDeadline(c, now); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	s.last = round{epoch: epochs.Data, next: next, at: now}
	return written, nil
}

// nextDeadline is the first time after now at which c has a notice due that
// it does not have at now (zero: none): an expiry stage, the expiry, the
// rotation.
func nextDeadline(c storage.Credential, now time.Time) time.Time {
	var times []time.Time
	if c.ExpiresAt != nil {
		for _, d := range warnDays {
			times = append(times, c.ExpiresAt.Add(-time.Duration(d)*24*time.Hour))
		}
		times = append(times, *c.ExpiresAt)
	}
	if due := credential.RotationDueAt(c); due != nil {
		times = append(times, *due)
	}
	var next time.Time
	for _, t := range times {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

// notice is one announcement due about a credential.
type notice struct {
	action  audit.Action
	key     string // names it once for all: the credential, the kind, the deadline
	details []storage.AuditDetail
}

// notices are the announcements due about c at now: the latest expiry stage
// reached (a credential created two days before it expires gets the 3-day
// notice, not the 14-day one too), and the rotation when due.
func notices(c storage.Credential, now time.Time) []notice {
	var out []notice
	if c.ExpiresAt != nil {
		at := c.ExpiresAt.UTC()
		deadline := at.Format(time.RFC3339)
		switch {
		case !now.Before(at):
			out = append(out, notice{audit.CredentialExpired, c.ID + "/expired/" + deadline,
				[]storage.AuditDetail{audit.Detail("expiresAt", deadline)}})
		default:
			stage := 0
			for _, d := range warnDays {
				if !now.Before(at.Add(-time.Duration(d) * 24 * time.Hour)) {
					stage = d
				}
			}
			if stage > 0 {
				out = append(out, notice{audit.CredentialExpiring, fmt.Sprintf("%s/expiring-%d/%s", c.ID, stage, deadline),
					[]storage.AuditDetail{audit.Detail("expiresAt", deadline), audit.Detail("days", fmt.Sprint(stage))}})
			}
		}
	}
	if due := credential.RotationDueAt(c); due != nil && !now.Before(*due) {
		deadline := due.UTC().Format(time.RFC3339)
		out = append(out, notice{audit.CredentialRotationDue, c.ID + "/rotation-due/" + deadline,
			[]storage.AuditDetail{audit.Detail("rotationDueAt", deadline), audit.Detail("rotationPeriodDays", fmt.Sprint(c.RotationPeriodDays))}})
	}
	return out
}

// write writes a notice unless it was written, and reports whether it wrote it.
func (s *Scheduler) write(ctx context.Context, c storage.Credential, n notice) (bool, error) {
	done, err := s.store.NoticeWritten(ctx, n.key)
	if err != nil || done {
		return false, err
	}
	// No mark: the entry may still be in the log (a crash between the two).
	inLog, err := s.inLog(ctx, c, n)
	if err != nil {
		return false, err
	}
	if !inLog {
		e := audit.Entry{WorkspaceID: c.WorkspaceID, Action: n.action, Outcome: audit.Success,
			TargetType: audit.TargetCredential, TargetID: c.ID, TargetName: c.Name,
			Details: append(slices.Clone(n.details), audit.Detail("notice", n.key))}
		if err := s.journal.Record(ctx, e); err != nil {
			return false, err
		}
	}
	return !inLog, s.store.MarkNoticeWritten(ctx, n.key, c.WorkspaceID, c.ID, s.now())
}

// inLog looks for the notice's entry among the credential's entries of its action.
func (s *Scheduler) inLog(ctx context.Context, c storage.Credential, n notice) (bool, error) {
	first := 200
	page, err := s.journal.List(ctx, audit.Query{Log: c.WorkspaceID, Action: string(n.action), TargetID: c.ID}, pagination.Args{First: &first})
	if err != nil {
		return false, err
	}
	for _, r := range page.Entries {
		for _, d := range r.Details {
			if d.Key == "notice" && d.Value == n.key {
				return true, nil
			}
		}
	}
	return false, nil
}
