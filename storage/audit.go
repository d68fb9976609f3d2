package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colAudit = "audit"

// AuditDetail is one key/value of an audit entry.
type AuditDetail struct {
	Key   string `bson:"k"`
	Value string `bson:"v"`
}

// AuditEntry is a stored audit record.
type AuditEntry struct {
	ID             string        `bson:"_id"`
	WorkspaceID    string        `bson:"workspaceId,omitempty"`
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
	Details        []AuditDetail `bson:"details"`
}

// InsertAuditEntry stores an audit entry.
func (s *Store) InsertAuditEntry(ctx context.Context, e AuditEntry) error {
	if e.Details == nil {
		e.Details = []AuditDetail{}
	}
	if _, err := s.col(colAudit).InsertOne(ctx, e); err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// AuditEntriesFor returns the audit entries about a target, oldest first (tests, and the audit issue's queries).
func (s *Store) AuditEntriesFor(ctx context.Context, targetID string) ([]AuditEntry, error) {
	var out []AuditEntry
	if err := s.all(ctx, colAudit, bson.M{"targetId": targetID}, &out, "find audit entries", options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}})); err != nil {
		return nil, err
	}
	return out, nil
}
