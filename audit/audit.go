// Package audit keeps the tamper-evident record of what happened: who did what
// to which object, when, from where, and with what outcome.
//
// Each workspace has its own log (entries that belong to no workspace go to the
// platform log). Entries are numbered 1, 2, 3, ... with no gaps: an entry's _id
// is its log and number, so two writers cannot take the same number, and the
// loser retries. Each entry's hash is the SHA-256 of the previous entry's hash
// and the entry's canonical encoding, so editing, removing or reordering an
// entry breaks the chain from that point, which Verify reports.
//
// Entries are written before the operation they describe returns; when one
// cannot be written the operation fails (see Recorder).
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"credkeep/authn"
	"credkeep/internal/pagination"
	"credkeep/storage"
)

// Action is what an entry records (SPEC.md §4 AuditAction).
type Action string

// Actions.
const (
	WorkspaceCreated     Action = "WORKSPACE_CREATED"
	WorkspaceUpdated     Action = "WORKSPACE_UPDATED"
	WorkspaceDeleted     Action = "WORKSPACE_DELETED"
	MemberAdded          Action = "MEMBER_ADDED"
	MemberRoleChanged    Action = "MEMBER_ROLE_CHANGED"
	MemberRemoved        Action = "MEMBER_REMOVED"
	CredentialCreated    Action = "CREDENTIAL_CREATED"
	CredentialUpdated    Action = "CREDENTIAL_UPDATED"
	CredentialDeleted    Action = "CREDENTIAL_DELETED"
	CredentialShared     Action = "CREDENTIAL_SHARED"
	CredentialUnshared   Action = "CREDENTIAL_UNSHARED"
	CredentialUsed       Action = "CREDENTIAL_USED"
	CredentialTested     Action = "CREDENTIAL_TESTED"
	CredentialRefreshed  Action = "CREDENTIAL_REFRESHED"
	CredentialAuthorized Action = "CREDENTIAL_AUTHORIZED"
	// CredentialAuthorizationStarted: startOAuthAuthorization (SPEC.md §8).
	CredentialAuthorizationStarted Action = "CREDENTIAL_AUTHORIZATION_STARTED"
	CredentialAttached             Action = "CREDENTIAL_ATTACHED"
	CredentialDetached             Action = "CREDENTIAL_DETACHED"
	DefaultCredentialSet           Action = "DEFAULT_CREDENTIAL_SET"
	TokenCreated                   Action = "TOKEN_CREATED"
	TokenRevoked                   Action = "TOKEN_REVOKED"
	AccessDenied                   Action = "ACCESS_DENIED"
	MasterKeyRewrapped             Action = "MASTER_KEY_REWRAPPED"
	WorkspaceKeyRotated            Action = "WORKSPACE_KEY_ROTATED"
	CredentialRolledBack           Action = "CREDENTIAL_ROLLED_BACK"
	CredentialStaged               Action = "CREDENTIAL_STAGED"
	CredentialPromoted             Action = "CREDENTIAL_PROMOTED"
	CredentialDiscarded            Action = "CREDENTIAL_DISCARDED"
	// Written by the deadline scheduler (package lifecycle), as SYSTEM.
	CredentialExpiring    Action = "CREDENTIAL_EXPIRING"
	CredentialExpired     Action = "CREDENTIAL_EXPIRED"
	CredentialRotationDue Action = "CREDENTIAL_ROTATION_DUE"
	WebhookCreated        Action = "WEBHOOK_CREATED"
	WebhookUpdated        Action = "WEBHOOK_UPDATED"
	WebhookDeleted        Action = "WEBHOOK_DELETED"
	// Written by the webhook deliverer, as SYSTEM.
	WebhookDeactivated Action = "WEBHOOK_DEACTIVATED"
)

// Outcome of the recorded action.
type Outcome string

// Outcomes.
const (
	Success Outcome = "SUCCESS"
	Denied  Outcome = "DENIED"
	Failure Outcome = "FAILURE"
)

// Target types.
const (
	TargetWorkspace  = "WORKSPACE"
	TargetCredential = "CREDENTIAL"
	TargetMember     = "MEMBER"
	TargetToken      = "API_TOKEN"
	TargetWebhook    = "WEBHOOK"
)

// Entry is one record to write. Details hold names and ids, never secret values.
type Entry struct {
	WorkspaceID string // "" for the platform log
	Action      Action
	Outcome     Outcome
	TargetType  string
	TargetID    string
	TargetName  string
	Details     []storage.AuditDetail
	// Outsider marks a denied attempt by someone who is not a member of the
	// workspace: outsiders' denials have their own budget (denials.go).
	Outsider bool
}

// Detail is a shorthand for one key/value.
func Detail(k, v string) storage.AuditDetail { return storage.AuditDetail{Key: k, Value: v} }

// Recorder writes audit entries.
type Recorder interface {
	// Record writes e before returning; an error means it is not on record.
	Record(ctx context.Context, e Entry) error
	// Denied records a refused attempt, within the bounds of the denial limiter;
	// it never fails the request it describes.
	Denied(ctx context.Context, e Entry)
}

// Store is the audit storage.
type Store interface {
	AuditHead(ctx context.Context, log string) (storage.AuditHead, error)
	AdvanceAuditHeads(ctx context.Context, moves []storage.AuditHeadMove) error
	InsertAuditEntries(ctx context.Context, es []storage.AuditEntry) error
	AuditEntry(ctx context.Context, log string, seq int64) (storage.AuditEntry, error)
	AuditEntries(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEntry, int64, error)
	ForEachAuditEntry(ctx context.Context, log string, fn func(storage.AuditEntry) error) error
}

// maxAppendAttempts bounds the retries of one log's batch under contention.
const maxAppendAttempts = 100

// Log writes and verifies audit logs.
type Log struct {
	store   Store
	now     func() time.Time
	denials *denialLimiter
	onError func(ctx context.Context, msg string, err error)
	// logs serializes this instance's appends per log and remembers each log's
	// head, so appends from one instance never race each other and need no read.
	logs *lru.Cache[string, *logState]
	mu   sync.Mutex

	// Group commit (group.go): entries of every log wait here for the next round.
	qmu     sync.Mutex
	queue   []*pending
	writing bool // a committer is running

	// Head documents (heads.go): where each log ends, not written yet.
	hmu        sync.Mutex
	heads      map[string]storage.AuditHead
	headsTimer bool // a flush is scheduled
	// headsFlushed paces the head writes in real time (time.Now, not the
	// injected clock): it spaces out database writes, it dates nothing.
	headsFlushed time.Time
	// flushMu makes flushes one at a time, so that a FlushHeads returns only
	// after every move recorded before it is written, even the ones a timer's
	// flush took a moment earlier.
	flushMu sync.Mutex

	// observe, when set, learns how long each Record took and whether it failed.
	observe func(time.Duration, error)
	// appended, when set, is told of each batch of a log as soon as it is
	// durable, in seq order per log (it is called under the log's lock).
	appended func(log string, entries []storage.AuditEntry)
}

// Observe sets a function told of every Record's duration and outcome (metrics).
// Call it before the Log is used.
func (l *Log) Observe(fn func(time.Duration, error)) { l.observe = fn }

// OnAppend sets a function told of every batch of entries this instance
// writes, once durable, in seq order per log: how subscribers on this instance
// get them without reading them back. It must not block. Call it before the
// Log is used.
func (l *Log) OnAppend(fn func(log string, entries []storage.AuditEntry)) { l.appended = fn }

// LastSeq is the number of the last entry of a log (0: none yet).
func (l *Log) LastSeq(ctx context.Context, log string) (int64, error) {
	h, err := l.readHead(ctx, log)
	return h.Seq, err
}

// tell passes a durable batch to the OnAppend function.
func (l *Log) tell(log string, entries []storage.AuditEntry) {
	if l.appended == nil || len(entries) == 0 {
		return
	}
	out := make([]storage.AuditEntry, len(entries))
	for i, e := range entries {
		e.ID = storage.AuditEntryID(e.Log, e.Seq) // as a read gives it
		out[i] = e
	}
	l.appended(log, out)
}

type logState struct {
	mu   sync.Mutex         // held by the one writer of this log on this instance
	head *storage.AuditHead // nil: not known yet
}

// NewLog returns a Log. onError reports denied-attempt entries that could not be written.
func NewLog(store Store, now func() time.Time, onError func(ctx context.Context, msg string, err error)) *Log {
	logs, _ := lru.New[string, *logState](10_000)
	return &Log{store: store, now: now, denials: newDenialLimiter(), onError: onError, logs: logs}
}

func (l *Log) state(log string) *logState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.logs.Get(log)
	if !ok {
		st = &logState{}
		l.logs.Add(log, st)
	}
	return st
}

// Record writes e with the request's actor, client address and user agent. It
// returns once the entry is durable (group-committed with concurrent ones).
func (l *Log) Record(ctx context.Context, e Entry) error {
	if l.observe == nil {
		return l.commit(ctx, l.entry(ctx, e))
	}
	start := time.Now()
	err := l.commit(ctx, l.entry(ctx, e))
	l.observe(time.Since(start), err)
	return err
}

// Denied records a refused attempt unless the limiter suppresses it.
func (l *Log) Denied(ctx context.Context, e Entry) {
	e.Action, e.Outcome = AccessDenied, Denied
	ok, suppressed := l.denials.allow(ctx, e, l.now())
	if !ok {
		return
	}
	if suppressed > 0 {
		e.Details = append(e.Details, Detail("suppressed", fmt.Sprint(suppressed)))
	}
	if err := l.commit(ctx, l.entry(ctx, e)); err != nil && l.onError != nil {
		l.onError(ctx, "write ACCESS_DENIED entry", err)
	}
}

func (l *Log) entry(ctx context.Context, e Entry) storage.AuditEntry {
	log := e.WorkspaceID
	if log == "" {
		log = storage.PlatformLog
	}
	doc := storage.AuditEntry{
		Log: log, At: l.now().UTC().Truncate(time.Millisecond), Action: string(e.Action), Outcome: string(e.Outcome),
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, Details: e.Details,
		ActorKind: "SYSTEM",
	}
	if doc.Details == nil {
		doc.Details = []storage.AuditDetail{}
	}
	if p := authn.PrincipalFrom(ctx); p != nil {
		doc.ActorKind, doc.ActorUserID = "USER", p.UserID
		if p.Token != nil {
			doc.ActorKind, doc.ActorTokenID, doc.ActorTokenName = "API_TOKEN", p.Token.ID, p.Token.Name
		}
	}
	c := ClientFrom(ctx)
	doc.IP, doc.UserAgent = c.IP, c.UserAgent
	doc.Details = slices.Clone(doc.Details) // the caller's slice stays its own
	cleanEntry(&doc)
	return doc
}

// canonical is the fixed encoding an entry's hash covers: every field but the
// hash itself, in a fixed order, the time in UTC milliseconds.
type canonical struct {
	Log        string      `json:"log"`
	Seq        int64       `json:"seq"`
	At         string      `json:"at"`
	Action     string      `json:"action"`
	Outcome    string      `json:"outcome"`
	ActorKind  string      `json:"actorKind"`
	ActorUser  string      `json:"actorUser"`
	ActorToken string      `json:"actorToken"`
	TokenName  string      `json:"tokenName"`
	TargetType string      `json:"targetType"`
	TargetID   string      `json:"targetId"`
	TargetName string      `json:"targetName"`
	IP         string      `json:"ip"`
	UserAgent  string      `json:"userAgent"`
	Details    [][2]string `json:"details"`
}

// ChainHash is the hash of e chained to the previous entry's hash.
func ChainHash(prev string, e storage.AuditEntry) string {
	c := canonical{
		Log: e.Log, Seq: e.Seq, At: e.At.UTC().Format("2006-01-02T15:04:05.000Z"), Action: e.Action, Outcome: e.Outcome,
		ActorKind: e.ActorKind, ActorUser: e.ActorUserID, ActorToken: e.ActorTokenID, TokenName: e.ActorTokenName,
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, IP: e.IP, UserAgent: e.UserAgent,
		Details: make([][2]string, len(e.Details)),
	}
	for i, d := range e.Details {
		c.Details[i] = [2]string{d.Key, d.Value}
	}
	b, _ := json.Marshal(c) // a struct of strings always marshals
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Verification is the result of checking a log.
type Verification struct {
	OK             bool
	Checked        int
	FirstBrokenSeq *int64
}

// Verify recomputes a workspace's chain from the first entry: a missing number,
// an entry whose hash does not match, or a log shorter than its head breaks it.
func (l *Log) Verify(ctx context.Context, workspaceID string) (Verification, error) {
	// This instance's own appends count: their head is written before the check.
	if err := l.FlushHeads(ctx); err != nil {
		return Verification{}, err
	}
	var v Verification
	prev, expect := "", int64(1)
	var broken *int64
	err := l.store.ForEachAuditEntry(ctx, workspaceID, func(e storage.AuditEntry) error {
		if broken != nil {
			return nil
		}
		if e.Seq != expect || e.Hash != ChainHash(prev, e) {
			b := expect
			if e.Seq == expect {
				b = e.Seq
			}
			broken = &b
			return nil
		}
		prev, expect = e.Hash, expect+1
		v.Checked++
		return nil
	})
	if err != nil {
		return Verification{}, err
	}
	if broken == nil {
		head, err := l.store.AuditHead(ctx, workspaceID)
		if err != nil {
			return Verification{}, err
		}
		if head.Seq >= expect { // entries at the end were removed
			b := expect
			broken = &b
		}
	}
	v.FirstBrokenSeq, v.OK = broken, broken == nil
	return v, nil
}

// Journal is what services need: writing entries, and reading and verifying a log.
type Journal interface {
	Recorder
	List(ctx context.Context, q Query, page pagination.Args) (Page, error)
	Verify(ctx context.Context, workspaceID string) (Verification, error)
}

var _ Journal = (*Log)(nil)
