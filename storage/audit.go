package storage

import (
	"context"
	"fmt"
	"time"
)

const (
	colAudit      = "audit"
	colAuditHeads = "audit_heads"
)

// PlatformLog is the log key of entries that belong to no workspace: tokens not
// restricted to a workspace, and the final record of each deleted workspace.
const PlatformLog = "_platform"

// AuditDetail is one key/value of an audit entry.
type AuditDetail struct {
	Key   string `bson:"k"`
	Value string `bson:"v"`
}

// AuditEntry is a stored audit record. Its _id is "<log>:<seq, 12 digits>", so
// the unique _id (and the unique log+seq index) make every seq of a log used once.
type AuditEntry struct {
	ID             string        `bson:"_id"`
	Log            string        `bson:"workspaceId"` // workspace id, or PlatformLog
	Seq            int64         `bson:"seq"`
	At             time.Time     `bson:"at"`
	Action         string        `bson:"action"`
	Outcome        string        `bson:"outcome"`
	ActorKind      string        `bson:"actorKind"`
	ActorUserID    string        `bson:"actorUserId,omitempty"`
	ActorTokenID   string        `bson:"actorTokenId,omitempty"`
	ActorTokenName string        `bson:"actorTokenName,omitempty"`
	TargetType     string        `bson:"targetType,omitempty"`
	TargetID       string        `bson:"targetId,omitempty"`
	TargetName     string        `bson:"targetName,omitempty"`
	IP             string        `bson:"ip,omitempty"`
	UserAgent      string        `bson:"userAgent,omitempty"`
	Details        []AuditDetail `bson:"details"`
	Hash           string        `bson:"hash"`
}

// AuditEntryID is the _id of a log's entry number seq.
func AuditEntryID(log string, seq int64) string { return fmt.Sprintf("%s:%012d", log, seq) }

// AuditHead is the last entry of a log: where the next one chains from.
type AuditHead struct {
	Seq  int64  `bson:"seq"`
	Hash string `bson:"hash"`
}

// AuditHeadMove moves one log's head from From to To.
type AuditHeadMove struct {
	Log      string
	From, To AuditHead
}

// AuditQuery selects entries of one log.
type AuditQuery struct {
	Log       string
	Action    string
	TargetID  string
	ActorID   string
	TokenID   string // entries whose actor is this API token (public id)
	Outcome   string
	Since     *time.Time
	Until     *time.Time
	BeforeSeq int64 // entries older than this (0: from the newest)
	AfterSeq  int64 // entries newer than this (0: no bound)
	Oldest    bool  // read from the oldest end (backward paging); results stay in read order
	Limit     int64
}

// auditStore keeps the audit log: in two collections of the database
// (auditCollections), or, on the embedded database, in a SQLite file of its
// own (auditFile), where an entry costs a row instead of a FerretDB document.
type auditStore interface {
	head(ctx context.Context, log string) (AuditHead, error)
	advanceHeads(ctx context.Context, moves []AuditHeadMove) error
	insert(ctx context.Context, es []AuditEntry) error
	entry(ctx context.Context, log string, seq int64) (AuditEntry, error)
	entries(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error)
	forEach(ctx context.Context, log string, fn func(AuditEntry) error) error
}

// AuditHead returns a log's head ({0, ""} for an empty log).
func (s *Store) AuditHead(ctx context.Context, log string) (AuditHead, error) {
	return s.audit.head(ctx, log)
}

// AdvanceAuditHeads moves several logs' heads in one write; a head already at
// or past its target (another writer moved it) is left alone.
func (s *Store) AdvanceAuditHeads(ctx context.Context, moves []AuditHeadMove) error {
	if len(moves) == 0 {
		return nil
	}
	return s.audit.advanceHeads(ctx, moves)
}

// InsertAuditEntries stores consecutive entries of one or more logs, in order.
// On an error some leading entries may have been stored: the caller reads them
// back to know which (see audit.Log). A number of a log already used is
// ErrConflict.
func (s *Store) InsertAuditEntries(ctx context.Context, es []AuditEntry) error {
	stored := make([]AuditEntry, len(es))
	for i, e := range es {
		if e.Details == nil {
			e.Details = []AuditDetail{}
		}
		e.ID = AuditEntryID(e.Log, e.Seq)
		stored[i] = e
	}
	return s.audit.insert(ctx, stored)
}

// AuditEntry returns a log's entry number seq, or ErrNotFound.
func (s *Store) AuditEntry(ctx context.Context, log string, seq int64) (AuditEntry, error) {
	return s.audit.entry(ctx, log, seq)
}

// AuditEntries returns a page of a log's entries, newest first (oldest first
// with Oldest), and how many match in all.
func (s *Store) AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error) {
	return s.audit.entries(ctx, q)
}

// ForEachAuditEntry calls fn with a log's entries in seq order (verification).
func (s *Store) ForEachAuditEntry(ctx context.Context, log string, fn func(AuditEntry) error) error {
	return s.audit.forEach(ctx, log, fn)
}
