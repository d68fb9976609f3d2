package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/internal/redact"
)

const colSecretVersions = "secret_versions"

// SecretVersion is an earlier state of a credential's secrets, kept so that
// it can be rolled back to. It holds the secrets as they were (sealed under
// the workspace's data key like the current ones) and the credential's plain
// fields at the time, destinations included: a rollback restores both, so
// an old secret never goes back out to a destination set after it.
type SecretVersion struct {
	ID           string    `bson:"_id"` // <credential id>/<version>
	CredentialID string    `bson:"credentialId"`
	WorkspaceID  string    `bson:"workspaceId"`
	Version      int64     `bson:"version"`
	CreatedAt    time.Time `bson:"createdAt"`
	CreatedBy    string    `bson:"createdBy,omitempty"`
	// ChangedFields are the secret fields this version changed.
	ChangedFields []string          `bson:"changedFields"`
	SecretKeys    []string          `bson:"secretKeys"`
	Fields        map[string]string `bson:"fields"`
	// Pending marks the staged version (at most one per credential), not in
	// use yet; BasedOn is the credential's version it was staged on.
	Pending bool  `bson:"pending,omitempty"`
	BasedOn int64 `bson:"basedOn,omitempty"`
}

// pendingVersionID is the _id of a credential's staged version.
func pendingVersionID(credentialID string) string { return credentialID + "/pending" }

func secretVersionID(credentialID string, version int64) string {
	return fmt.Sprintf("%s/%d", credentialID, version)
}

// CurrentSecretVersion is the number of a credential's current secrets;
// documents written before versions existed are at 1.
func (c Credential) CurrentSecretVersion() int64 {
	if c.SecretVersion == 0 {
		return 1
	}
	return c.SecretVersion
}

// SecretsChange says when, by whom and in which fields the current secrets
// were set (for documents written before versions existed: at creation, by
// the owner, every secret field).
func (c Credential) SecretsChange() (at time.Time, by string, fields []string) {
	at, by, fields = c.CreatedAt, c.OwnerID, c.SecretKeys
	if c.SecretsChangedAt != nil {
		at, by = *c.SecretsChangedAt, c.SecretsChangedBy
	}
	if c.SecretsChangedFields != nil {
		fields = c.SecretsChangedFields
	}
	return at, by, fields
}

// sealedVersionDoc is a version's document: its secrets as stored (sealed).
type sealedVersionDoc struct {
	SecretVersion `bson:",inline"`
	Secrets       primitive.Binary `bson:"secrets,omitempty"`
}

// archiveSecrets copies a credential's current secrets, as stored (still
// sealed), into its versions, before an update replaces them. Archiving the
// same version twice (an update retried after a crash) keeps the first copy.
// It returns the archived version's number.
func (s *Store) archiveSecrets(ctx context.Context, id string) (int64, error) {
	var doc sealedDoc
	if err := one(s.rawCol(colCredentials).FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"oauthTokens": 0})), &doc, "read credential"); err != nil {
		return 0, err
	}
	c := doc.Credential
	v := c.CurrentSecretVersion()
	at, by, changed := c.SecretsChange()
	d := sealedVersionDoc{Secrets: doc.Secrets, SecretVersion: SecretVersion{ID: secretVersionID(id, v), CredentialID: id,
		WorkspaceID: c.WorkspaceID, Version: v, CreatedAt: at, CreatedBy: by, ChangedFields: changed, SecretKeys: c.SecretKeys, Fields: c.Fields}}
	if _, err := s.col(colSecretVersions).InsertOne(ctx, d); err != nil && !isDuplicateKey(err) {
		return 0, fmt.Errorf("archive secrets: %w", err)
	}
	return v, nil
}

// pruneSecretVersions destroys a credential's versions older than the last
// keep (the current one counts).
func (s *Store) pruneSecretVersions(ctx context.Context, id string, current int64) error {
	keep := s.keepVersions
	if keep < 1 {
		keep = 1
	}
	_, err := s.col(colSecretVersions).DeleteMany(ctx, bson.M{"credentialId": id, "pending": bson.M{"$ne": true}, "version": bson.M{"$lte": current - int64(keep)}})
	if err != nil {
		return fmt.Errorf("destroy old secret versions: %w", err)
	}
	return nil
}

// SecretVersions lists a credential's kept versions (its staged one too),
// newest first.
func (s *Store) SecretVersions(ctx context.Context, credentialID string) ([]SecretVersion, error) {
	var out []SecretVersion
	err := s.all(ctx, colSecretVersions, bson.M{"credentialId": credentialID}, &out, "read secret versions",
		options.Find().SetSort(bson.D{{Key: "version", Value: -1}}).SetProjection(bson.M{"secrets": 0}))
	return out, err
}

// SealedSecretVersion returns one earlier version with its secrets still
// sealed, or ErrNotFound.
func (s *Store) SealedSecretVersion(ctx context.Context, credentialID string, version int64) (SecretVersion, Sealed, error) {
	return s.sealedVersion(ctx, secretVersionID(credentialID, version))
}

// PendingSecrets returns a credential's staged version with its secrets
// still sealed, or ErrNotFound.
func (s *Store) PendingSecrets(ctx context.Context, credentialID string) (SecretVersion, Sealed, error) {
	return s.sealedVersion(ctx, pendingVersionID(credentialID))
}

func (s *Store) sealedVersion(ctx context.Context, id string) (SecretVersion, Sealed, error) {
	var d sealedVersionDoc
	err := one(s.rawCol(colSecretVersions).FindOne(ctx, bson.M{"_id": id}), &d, "read secret version")
	if err != nil {
		return SecretVersion{}, Sealed{}, err
	}
	return d.SecretVersion, Sealed{d.Secrets}, nil
}

// StageSecrets stores a credential's staged version, replacing one staged
// before, its secrets sealed under the workspace's data key.
func (s *Store) StageSecrets(ctx context.Context, v SecretVersion, secrets map[string]redact.Secret) error {
	v.ID, v.Pending = pendingVersionID(v.CredentialID), true
	return s.writeSealed(ctx, v.WorkspaceID, plainSecrets(secrets), sealedAt{colSecretVersions, v.ID, "secrets"}, func(enc primitive.Binary) error {
		if _, err := s.col(colSecretVersions).ReplaceOne(ctx, bson.M{"_id": v.ID}, sealedVersionDoc{SecretVersion: v, Secrets: enc},
			options.Replace().SetUpsert(true)); err != nil {
			return fmt.Errorf("stage secrets: %w", err)
		}
		return nil
	})
}

// DiscardPendingSecrets destroys a credential's staged version; it reports
// whether there was one.
func (s *Store) DiscardPendingSecrets(ctx context.Context, credentialID string) (bool, error) {
	res, err := s.col(colSecretVersions).DeleteOne(ctx, bson.M{"_id": pendingVersionID(credentialID)})
	if err != nil {
		return false, fmt.Errorf("discard staged secrets: %w", err)
	}
	return res.DeletedCount == 1, nil
}

// deleteSecretVersions destroys every version of a credential.
func (s *Store) deleteSecretVersions(ctx context.Context, credentialID string) error {
	if _, err := s.col(colSecretVersions).DeleteMany(ctx, bson.M{"credentialId": credentialID}); err != nil {
		return fmt.Errorf("delete secret versions: %w", err)
	}
	return nil
}
