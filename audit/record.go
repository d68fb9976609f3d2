package audit

import (
	"time"

	"credkeep/storage"
)

// Record is an entry as it was written: what readers of a log get.
type Record struct {
	ID             string
	Log            string // workspace id, or the platform log
	Seq            int64
	At             time.Time
	Action         Action
	Outcome        Outcome
	ActorKind      string // USER, API_TOKEN, SYSTEM
	ActorUserID    string
	ActorTokenID   string
	ActorTokenName string
	TargetType     string
	TargetID       string
	TargetName     string
	IP             string
	UserAgent      string
	Details        []RecordDetail
	Hash           string
}

// RecordDetail is one key and value of a Record.
type RecordDetail struct{ Key, Value string }

// Query selects the entries of one log; empty fields do not filter.
type Query struct {
	Log      string
	Action   string
	TargetID string
	ActorID  string
	TokenID  string
	Outcome  string
	Since    *time.Time
	Until    *time.Time
}

func (q Query) stored() storage.AuditQuery {
	return storage.AuditQuery{Log: q.Log, Action: q.Action, TargetID: q.TargetID, ActorID: q.ActorID,
		TokenID: q.TokenID, Outcome: q.Outcome, Since: q.Since, Until: q.Until}
}

// RecordOf is a stored entry as readers get it.
func RecordOf(e storage.AuditEntry) Record { return toRecord(e) }

func toRecord(e storage.AuditEntry) Record {
	r := Record{ID: e.ID, Log: e.Log, Seq: e.Seq, At: e.At, Action: Action(e.Action), Outcome: Outcome(e.Outcome),
		ActorKind: e.ActorKind, ActorUserID: e.ActorUserID, ActorTokenID: e.ActorTokenID, ActorTokenName: e.ActorTokenName,
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, IP: e.IP, UserAgent: e.UserAgent,
		Details: make([]RecordDetail, len(e.Details)), Hash: e.Hash}
	for i, d := range e.Details {
		r.Details[i] = RecordDetail{Key: d.Key, Value: d.Value}
	}
	return r
}
