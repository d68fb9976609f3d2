package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Workspace is a tenant: it holds members and credentials and owns a data key.
//
// Owners lists the user ids with role OWNER and guards the rule that a workspace
// always keeps one: it is only ever a subset of the members whose role is OWNER
// (it is shrunk before a member loses the role and grown after one gains it), and
// a guarded update never lets it become empty. So whatever fails between the two
// writes, at least one real OWNER remains.
type Workspace struct {
	ID     string   `bson:"_id"`
	Name   string   `bson:"name"`
	Owners []string `bson:"owners"`
	// PolicyVersion changes with every change of grants or membership; server
	// instances compare it with the version of the policies they cached.
	PolicyVersion int64 `bson:"policyVersion"`
	// DataVersion changes with every change of one of its credentials (package coherence moves it).
	DataVersion int64      `bson:"dataVersion"`
	CreatedAt   time.Time  `bson:"createdAt"`
	UpdatedAt   time.Time  `bson:"updatedAt"`
	DeletingAt  *time.Time `bson:"deletingAt,omitempty"`
	// DataKey names the data key new secrets are sealed under ("": the
	// workspace's first key, named by its id); see rotation.go.
	DataKey      string       `bson:"dataKey,omitempty"`
	KeyRotation  *KeyRotation `bson:"keyRotation,omitempty"`
	KeyRotatedAt *time.Time   `bson:"keyRotatedAt,omitempty"`
}

// InsertWorkspace stores a new workspace.
func (s *Store) InsertWorkspace(ctx context.Context, w Workspace) error {
	if _, err := s.col(colWorkspaces).InsertOne(ctx, w); err != nil {
		if isDuplicateKey(err) {
			return ErrConflict
		}
		return fmt.Errorf("insert workspace: %w", err)
	}
	return nil
}

// Workspace returns a workspace, including one that is being deleted (see DeletingAt).
func (s *Store) Workspace(ctx context.Context, id string) (Workspace, error) {
	var w Workspace
	if err := one(s.col(colWorkspaces).FindOne(ctx, bson.M{"_id": id}), &w, "find workspace"); err != nil {
		return Workspace{}, err
	}
	return w, nil
}

// RenameWorkspace sets the name of a live workspace.
func (s *Store) RenameWorkspace(ctx context.Context, id, name string, now time.Time) (Workspace, error) {
	var w Workspace
	err := one(s.col(colWorkspaces).FindOneAndUpdate(ctx,
		bson.M{"_id": id, "deletingAt": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"name": name, "updatedAt": now}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)), &w, "rename workspace")
	if err != nil {
		return Workspace{}, err
	}
	return w, nil
}

// AddOwner records userID in the workspace's owner guard list (after the member became OWNER).
func (s *Store) AddOwner(ctx context.Context, workspaceID, userID string) error {
	_, err := s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID},
		bson.M{"$addToSet": bson.M{"owners": userID}})
	if err != nil {
		return fmt.Errorf("add owner: %w", err)
	}
	return nil
}

// RemoveOwner takes userID off the owner guard list, before the member stops being
// OWNER. It returns ErrConflict when userID is the last owner, and nil when userID
// is not on the list.
func (s *Store) RemoveOwner(ctx context.Context, workspaceID, userID string) error {
	res, err := s.col(colWorkspaces).UpdateOne(ctx,
		// "owners.1" exists: at least two owners, so one remains after the pull.
		bson.M{"_id": workspaceID, "owners": userID, "owners.1": bson.M{"$exists": true}},
		bson.M{"$pull": bson.M{"owners": userID}})
	if err != nil {
		return fmt.Errorf("remove owner: %w", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	n, err := s.col(colWorkspaces).CountDocuments(ctx, bson.M{"_id": workspaceID, "owners": userID})
	if err != nil {
		return fmt.Errorf("remove owner: %w", err)
	}
	if n > 0 {
		return ErrConflict
	}
	return nil
}

// MarkWorkspaceDeleting hides a workspace from every read while its deletion runs.
// It is idempotent, so an interrupted deletion can be run again.
func (s *Store) MarkWorkspaceDeleting(ctx context.Context, id string, now time.Time) error {
	res, err := s.col(colWorkspaces).UpdateOne(ctx,
		bson.M{"_id": id, "deletingAt": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"deletingAt": now, "updatedAt": now}})
	if err != nil {
		return fmt.Errorf("mark workspace deleting: %w", err)
	}
	if res.MatchedCount == 0 {
		if _, err := s.Workspace(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteWorkspaceDocuments removes a workspace's credentials and memberships and
// then the workspace itself. Run it after MarkWorkspaceDeleting and DeleteDataKey.
func (s *Store) DeleteWorkspaceDocuments(ctx context.Context, id string) error {
	if _, err := s.col(colCredentials).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete credentials: %w", err)
	}
	if _, err := s.col(colSecretVersions).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete secret versions: %w", err)
	}
	if _, err := s.col(colNotices).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete notices: %w", err)
	}
	if _, err := s.col(colWebhooks).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete webhooks: %w", err)
	}
	if _, err := s.col(colDeliveries).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	if err := s.uses.drop(ctx, id); err != nil {
		return err
	}
	if _, err := s.col(colUsages).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete usages: %w", err)
	}
	if _, err := s.col(colAPITokens).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete api tokens: %w", err)
	}
	if _, err := s.col(colMembers).DeleteMany(ctx, bson.M{"workspaceId": id}); err != nil {
		return fmt.Errorf("delete members: %w", err)
	}
	if _, err := s.col(colWorkspaces).DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("delete workspace: %w", err)
	}
	return nil
}
