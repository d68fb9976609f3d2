// Package audit records what happened: who did what to which object, when,
// and with what outcome. Entries are written synchronously before the
// operation they describe returns; a failed write fails the operation.
//
// This first version stores plain entries; the hash chain, queries and
// ACCESS_DENIED records build on the same Entry and Recorder.
package audit

import (
	"context"
	"time"

	"github.com/google/uuid"

	"credkeep/authz"
	"credkeep/storage"
)

// Action is what an entry records (SPEC.md §4 AuditAction).
type Action string

// Actions recorded so far.
const (
	CredentialUsed Action = "CREDENTIAL_USED"
	TokenCreated   Action = "TOKEN_CREATED"
	TokenRevoked   Action = "TOKEN_REVOKED"
)

// Outcome of the recorded action.
type Outcome string

// Outcomes.
const (
	Success Outcome = "SUCCESS"
	Denied  Outcome = "DENIED"
	Failure Outcome = "FAILURE"
)

// Entry is one audit record. Details hold names and ids, never secret values.
type Entry struct {
	WorkspaceID string
	Action      Action
	Outcome     Outcome
	TargetType  string
	TargetID    string
	TargetName  string
	Details     []storage.AuditDetail
}

// Recorder writes audit entries.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

// Store is where a Log writes.
type Store interface {
	InsertAuditEntry(ctx context.Context, e storage.AuditEntry) error
}

// Log records entries in the database, with the actor taken from the context.
type Log struct {
	store Store
	now   func() time.Time
}

// NewLog returns a Log.
func NewLog(store Store, now func() time.Time) *Log { return &Log{store: store, now: now} }

// Record writes e with the request's actor.
func (l *Log) Record(ctx context.Context, e Entry) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	doc := storage.AuditEntry{
		ID: id.String(), WorkspaceID: e.WorkspaceID, At: l.now().UTC(), Action: string(e.Action), Outcome: string(e.Outcome),
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, Details: e.Details,
		ActorKind: "SYSTEM",
	}
	if p := authz.PrincipalFrom(ctx); p != nil {
		doc.ActorKind, doc.ActorUserID = "USER", p.UserID
		if p.Token != nil {
			doc.ActorKind, doc.ActorTokenID, doc.ActorTokenName = "API_TOKEN", p.Token.ID, p.Token.Name
		}
	}
	return l.store.InsertAuditEntry(ctx, doc)
}
