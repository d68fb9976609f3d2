package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/internal/redact"
)

const colCredentials = "credentials"

// Credential is a stored credential without its secrets. The secret values are
// one encrypted sub-document, "secrets", written by InsertCredential and
// UpdateCredential and read one way only: SealedCredential(s) hand them over
// still encrypted, and Unseal decrypts them into redact.Secret values.
type Credential struct {
	ID          string `bson:"_id"`
	WorkspaceID string `bson:"workspaceId"`
	Name        string `bson:"name"`
	// NameKey is the name under NFKC and case folding: unique within a workspace, and the sort key.
	NameKey string `bson:"nameKey"`
	Type    string `bson:"type"`
	OwnerID string `bson:"ownerId"`
	// Fields holds the non-secret values.
	Fields map[string]string `bson:"fields"`
	// SecretKeys lists the keys of the secret fields that are set, sorted.
	SecretKeys   []string   `bson:"secretKeys"`
	Version      int64      `bson:"version"`
	LastTestedAt *time.Time `bson:"lastTestedAt,omitempty"`
	ExpiresAt    *time.Time `bson:"expiresAt,omitempty"`
	Description  string     `bson:"description,omitempty"`
	Tags         []string   `bson:"tags,omitempty"`
	// The OAuth2 connection, for its state (the tokens are with the secrets).
	TokenExpiresAt *time.Time `bson:"tokenExpiresAt,omitempty"`
	ConnectedAt    *time.Time `bson:"connectedAt,omitempty"`
	ConnectedBy    string     `bson:"connectedBy,omitempty"`
	// ConnectedAccount is the provider account's e-mail or login, when it said.
	ConnectedAccount string     `bson:"connectedAccount,omitempty"`
	RefreshedAt      *time.Time `bson:"refreshedAt,omitempty"`
	// SecretVersion numbers the current secrets (see versions.go): every
	// change of secret values makes the next one. SecretsChangedAt, By and
	// Fields say when, by whom and which secret fields that change was.
	SecretVersion        int64      `bson:"secretVersion,omitempty"`
	SecretsChangedAt     *time.Time `bson:"secretsChangedAt,omitempty"`
	SecretsChangedBy     string     `bson:"secretsChangedBy,omitempty"`
	SecretsChangedFields []string   `bson:"secretsChangedFields,omitempty"`
	// RotationPeriodDays, when set, makes the secrets due for rotation that
	// many days after each change of them (0: no period).
	RotationPeriodDays int `bson:"rotationPeriodDays,omitempty"`
	// LastError is why the last test or refresh failed; empty when it succeeded.
	LastError string    `bson:"lastError,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

// ErrNameTaken is returned when a workspace already has a credential of that name.
var ErrNameTaken = errors.New("name taken")

// withoutSecrets is the projection for every read that does not need secrets:
// nothing is decrypted that is not used.
var withoutSecrets = bson.M{"secrets": 0, "oauthTokens": 0}

// InsertCredential stores a new credential with its secrets encrypted under the
// workspace's data key.
func (s *Store) InsertCredential(ctx context.Context, c Credential, secrets map[string]redact.Secret) error {
	c.SecretVersion = c.CurrentSecretVersion()
	return s.writeSealed(ctx, c.WorkspaceID, plainSecrets(secrets), sealedAt{colCredentials, c.ID, "secrets"}, func(enc primitive.Binary) error {
		if _, err := s.col(colCredentials).InsertOne(ctx, sealedDoc{Credential: c, Secrets: enc}); err != nil {
			if isDuplicateKey(err) {
				return ErrNameTaken
			}
			return fmt.Errorf("insert credential: %w", err)
		}
		return nil
	})
}

// Credential returns a credential (without secrets), or ErrNotFound.
func (s *Store) Credential(ctx context.Context, id string) (Credential, error) {
	var c Credential
	if err := one(s.col(colCredentials).FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(withoutSecrets)), &c, "find credential"); err != nil {
		return Credential{}, err
	}
	return c, nil
}

// UpdateCredential replaces a credential's state if its version is still
// expectedVersion; the stored version becomes expectedVersion+1. secrets nil keeps
// the stored secrets. It returns ErrConflict when the version moved,
// ErrNameTaken when the new name is used, ErrNotFound when it is gone.
func (s *Store) UpdateCredential(ctx context.Context, c Credential, secrets map[string]redact.Secret, expectedVersion int64) (Credential, error) {
	c.Version = expectedVersion + 1
	set := bson.M{
		"name": c.Name, "nameKey": c.NameKey, "fields": c.Fields, "secretKeys": c.SecretKeys,
		"version": c.Version, "updatedAt": c.UpdatedAt,
	}
	unset := bson.M{}
	if c.Description != "" {
		set["description"] = c.Description
	} else {
		unset["description"] = ""
	}
	if len(c.Tags) > 0 {
		set["tags"] = c.Tags
	} else {
		unset["tags"] = ""
	}
	if c.ExpiresAt != nil {
		set["expiresAt"] = c.ExpiresAt
	} else {
		unset["expiresAt"] = ""
	}
	if c.RotationPeriodDays > 0 {
		set["rotationPeriodDays"] = c.RotationPeriodDays
	} else {
		unset["rotationPeriodDays"] = ""
	}
	update := bson.M{"$set": set}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	// UpdateOne then a read (not findAndModify: FerretDB does not project there,
	// and the reply would carry the decrypted secrets). The document lock keeps
	// the pair consistent on the embedded database.
	write := func() error {
		res, err := s.col(colCredentials).UpdateOne(ctx, bson.M{"_id": c.ID, "version": expectedVersion}, update)
		switch {
		case isDuplicateKey(err):
			return ErrNameTaken
		case err != nil:
			return fmt.Errorf("update credential: %w", err)
		case res.MatchedCount == 0:
			if _, err := s.Credential(ctx, c.ID); err != nil {
				return err
			}
			return ErrConflict
		}
		return nil
	}
	var err error
	if secrets == nil {
		err = write()
	} else {
		// The secrets being replaced become a version of their own first (a
		// copy that a failed update leaves is its current secrets: listed
		// only once they are replaced).
		var archived int64
		archived, err = s.archiveSecrets(ctx, c.ID)
		if err != nil {
			return Credential{}, err
		}
		set["secretVersion"] = archived + 1
		set["secretsChangedAt"] = c.UpdatedAt
		set["secretsChangedBy"] = c.SecretsChangedBy
		set["secretsChangedFields"] = c.SecretsChangedFields
		err = s.writeSealed(ctx, c.WorkspaceID, plainSecrets(secrets), sealedAt{colCredentials, c.ID, "secrets"}, func(enc primitive.Binary) error {
			set["secrets"] = enc
			return write()
		})
		if err == nil {
			// Best effort: versions left over are destroyed by the next change.
			_ = s.pruneSecretVersions(ctx, c.ID, archived+1)
		}
	}
	if err != nil {
		return Credential{}, err
	}
	return s.Credential(ctx, c.ID)
}

// DeleteCredential removes a credential of a workspace; ErrNotFound if it is gone already.
func (s *Store) DeleteCredential(ctx context.Context, workspaceID, id string) error {
	res, err := s.col(colCredentials).DeleteOne(ctx, bson.M{"_id": id, "workspaceId": workspaceID})
	if err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	if err := s.deleteSecretVersions(ctx, id); err != nil {
		return err
	}
	if _, err := s.col(colNotices).DeleteMany(ctx, bson.M{"credentialId": id}); err != nil {
		return fmt.Errorf("delete notices: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	s.forgetUses(ctx, workspaceID, id)
	return nil
}

// Sealed is a credential's secrets as stored: encrypted. It is what caches
// hold, so that no plaintext secret stays in memory beyond one request.
type Sealed struct{ bin primitive.Binary }

// IsZero reports a credential stored without secrets.
func (s Sealed) IsZero() bool { return len(s.bin.Data) == 0 }

// SealedCredential returns a credential and its secrets still encrypted, or ErrNotFound.
func (s *Store) SealedCredential(ctx context.Context, id string) (Credential, Sealed, error) {
	var doc sealedDoc
	if err := one(s.rawCol(colCredentials).FindOne(ctx, bson.M{"_id": id}), &doc, "find credential"); err != nil {
		return Credential{}, Sealed{}, err
	}
	return doc.Credential, Sealed{doc.Secrets}, nil
}

// SealedCredentialsOf returns every credential of a workspace with its secrets
// still encrypted, sorted by name.
func (s *Store) SealedCredentialsOf(ctx context.Context, workspaceID string) ([]Credential, []Sealed, error) {
	var docs []sealedDoc
	if err := s.allOn(s.rawCol(colCredentials), ctx, bson.M{"workspaceId": workspaceID}, &docs, "find credentials",
		options.Find().SetSort(bson.D{{Key: "nameKey", Value: 1}, {Key: "_id", Value: 1}}).SetProjection(bson.M{"oauthTokens": 0})); err != nil {
		return nil, nil, err
	}
	creds, sealed := make([]Credential, len(docs)), make([]Sealed, len(docs))
	for i, d := range docs {
		creds[i], sealed[i] = d.Credential, Sealed{d.Secrets}
	}
	return creds, sealed, nil
}

// EachSealedCredential calls fn with every credential of the database and
// its secrets still encrypted, in no particular order, one document at a time:
// at 50,000 credentials a slice of them all, decoded before the caller keeps
// its own copies, was tens of MiB held at once. On FerretDB v1 a query by
// workspace reads the whole collection anyway, so one read of all of it costs
// what a read of one workspace's does. An error from fn stops the read.
func (s *Store) EachSealedCredential(ctx context.Context, fn func(Credential, Sealed) error) error {
	return eachOn(ctx, s.rawCol(colCredentials), bson.M{}, "find credentials", func(d sealedDoc) error {
		return fn(d.Credential, Sealed{d.Secrets})
	}, options.Find().SetProjection(bson.M{"oauthTokens": 0}))
}

// WorkspaceIDs returns the id of every workspace (live or being deleted).
func (s *Store) WorkspaceIDs(ctx context.Context) ([]string, error) {
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := s.all(ctx, colWorkspaces, bson.M{}, &docs, "list workspaces", options.Find().SetProjection(bson.M{"_id": 1})); err != nil {
		return nil, err
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

type sealedDoc struct {
	Credential `bson:",inline"`
	Secrets    primitive.Binary `bson:"secrets"`
}

// Unseal decrypts secrets read by SealedCredential(s): one decryption.
func (s *Store) Unseal(ctx context.Context, sealed Sealed) (map[string]redact.Secret, error) {
	out := map[string]redact.Secret{}
	if sealed.IsZero() {
		return out, nil
	}
	ctx, end := s.kmsSpan(ctx, "decrypt")
	raw, err := s.crypt.ce.Decrypt(ctx, sealed.bin)
	end(err)
	if err != nil {
		return nil, fmt.Errorf("decrypt secrets: %w", err)
	}
	var plain map[string]string
	if err := raw.Unmarshal(&plain); err != nil {
		return nil, fmt.Errorf("decode secrets: %w", err)
	}
	for k, v := range plain {
		out[k] = redact.New(v)
	}
	return out, nil
}

// plainSecrets is the sub-document of a credential's secret values that is
// sealed under the workspace's data key: the only place their plaintext is
// handled here.
func plainSecrets(secrets map[string]redact.Secret) map[string]string {
	plain := make(map[string]string, len(secrets))
	for k, v := range secrets {
		plain[k] = v.Reveal()
	}
	return plain
}
