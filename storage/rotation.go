package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Workspace key rotation.
//
// A workspace's data keys are named (key alt names) after it: its first key
// by the workspace id, each later one "<id>/<random>". Secrets are sealed
// under the key the workspace document names (Workspace.DataKey); each
// ciphertext carries the id of its key, so a value is readable as long as its
// key exists, whichever key is current. A rotation, recorded in the workspace
// document so that any instance can resume it, goes:
//
//  1. BeginKeyRotation names the new key (KeyRotation.To).
//  2. SwitchDataKey creates it and makes it the workspace's key: new secrets
//     are sealed under it from then on.
//  3. ReencryptWorkspace seals again every value still under another key.
//  4. The old key is deleted (DeleteDataKeyNamed) once a pass finds nothing
//     to re-encrypt, and FinishKeyRotation closes the rotation.
//
// A writer that read the old key's name before step 2 may store a value under
// it after a pass of step 3: every sealed write therefore checks, after it
// lands, that the key it used is still the workspace's, and seals again under
// the current one when not (writeSealed). Until step 4 both keys exist, so an
// interruption anywhere leaves every value readable.

// KeyRotation is a workspace key rotation in progress.
type KeyRotation struct {
	From      string    `bson:"from"`
	To        string    `bson:"to"`
	StartedAt time.Time `bson:"startedAt"`
}

// dataKeyName is the alt name of the key a workspace seals new values under.
func (w Workspace) dataKeyName() string {
	if w.DataKey != "" {
		return w.DataKey
	}
	return w.ID
}

// sealingKey reads the name of the key workspaceID seals new values under.
func (s *Store) sealingKey(ctx context.Context, workspaceID string) (string, error) {
	var w Workspace
	err := one(s.col(colWorkspaces).FindOne(ctx, bson.M{"_id": workspaceID},
		options.FindOne().SetProjection(bson.M{"dataKey": 1})), &w, "read workspace key")
	if errors.Is(err, ErrNotFound) {
		// Not created yet or gone: its first key, which exists only while it does.
		return workspaceID, nil
	}
	w.ID = workspaceID
	return w.dataKeyName(), err
}

// sealedAt names where a sealed value is stored: a field of one document.
type sealedAt struct {
	col, id, field string
}

// writeSealed encrypts v under the workspace's current key and stores it with
// write. If the workspace moved to another key meanwhile (a rotation), it
// seals v again under that key and replaces the stored value, unless another
// write replaced it first (that write makes the same check).
func (s *Store) writeSealed(ctx context.Context, workspaceID string, v any, at sealedAt, write func(enc primitive.Binary) error) error {
	key, err := s.sealingKey(ctx, workspaceID)
	if err != nil {
		return err
	}
	enc, err := s.encryptUnder(ctx, key, v)
	if err != nil {
		return err
	}
	if err := write(enc); err != nil {
		return err
	}
	for {
		now, err := s.sealingKey(ctx, workspaceID)
		if err != nil || now == key {
			// The value is stored; an error here leaves it for the rotation's
			// own pass to find.
			return nil
		}
		again, err := s.encryptUnder(ctx, now, v)
		if err != nil {
			return nil
		}
		n, err := s.col(at.col).swapFields(ctx, s.rawCol(at.col), []fieldSwap{{id: at.id, field: at.field, old: enc, new: again}})
		if err != nil || n == 0 {
			return nil
		}
		key, enc = now, again
	}
}

// newKeyName names a workspace's next data key.
func newKeyName(workspaceID string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return workspaceID + "/" + hex.EncodeToString(b)
}

// BeginKeyRotation starts a rotation of the workspace's data key, or returns
// the one in progress (to resume it). ErrNotFound when the workspace is gone
// or being deleted.
func (s *Store) BeginKeyRotation(ctx context.Context, workspaceID string, now time.Time) (KeyRotation, error) {
	for {
		w, err := s.Workspace(ctx, workspaceID)
		if err != nil {
			return KeyRotation{}, err
		}
		if w.DeletingAt != nil {
			return KeyRotation{}, ErrNotFound
		}
		if w.KeyRotation != nil {
			return *w.KeyRotation, nil
		}
		rot := KeyRotation{From: w.dataKeyName(), To: newKeyName(workspaceID), StartedAt: now.UTC().Truncate(time.Millisecond)}
		res, err := s.col(colWorkspaces).UpdateOne(ctx,
			bson.M{"_id": workspaceID, "keyRotation": bson.M{"$exists": false}, "deletingAt": bson.M{"$exists": false}},
			bson.M{"$set": bson.M{"keyRotation": rot}})
		if err != nil {
			return KeyRotation{}, fmt.Errorf("begin key rotation: %w", err)
		}
		if res.MatchedCount == 1 {
			return rot, nil
		}
		// Another caller began one (or the workspace went): read again.
	}
}

// SwitchDataKey creates the rotation's new key, if it does not exist yet, and
// makes it the one the workspace seals new values under.
func (s *Store) SwitchDataKey(ctx context.Context, workspaceID string, rot KeyRotation) error {
	n, err := s.crypt.keyVault().CountDocuments(ctx, bson.M{"keyAltNames": rot.To})
	if err != nil {
		return fmt.Errorf("find the new data key: %w", err)
	}
	if n == 0 {
		if err := s.createDataKeyNamed(ctx, rot.To); err != nil {
			return err
		}
	}
	res, err := s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID, "keyRotation.to": rot.To},
		bson.M{"$set": bson.M{"dataKey": rot.To}})
	if err != nil {
		return fmt.Errorf("switch data key: %w", err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("switch data key: the rotation is over: %w", ErrConflict)
	}
	return nil
}

// sealedFields are the values stored under a workspace's data key, by collection.
var sealedFields = []struct {
	col    string
	fields []string
}{
	{colCredentials, []string{"secrets", "oauthTokens"}},
	{colOAuthStates, []string{"verifier"}},
	{colSecretVersions, []string{"secrets"}},
	{colWebhooks, []string{"secret"}},
}

// ReencryptWorkspace seals again, under the key named key, every value of the
// workspace stored under another key, batch documents per write. Each value
// is replaced only if it is still the one read (a concurrent write wins and
// is sealed under the current key by writeSealed). It returns how many values
// it re-encrypted; a pass that returns 0 found every value under key.
func (s *Store) ReencryptWorkspace(ctx context.Context, workspaceID, key string, batch int) (int, error) {
	keyID, err := s.dataKeyID(ctx, key)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, sf := range sealedFields {
		proj := bson.M{"_id": 1}
		for _, f := range sf.fields {
			proj[f] = 1
		}
		// All read before the first write: on the embedded database an open
		// cursor holds the connection a write would wait for.
		var docs []bson.M
		if err := s.allOn(s.rawCol(sf.col), ctx, bson.M{"workspaceId": workspaceID}, &docs, "read sealed values",
			options.Find().SetProjection(proj)); err != nil {
			return done, err
		}
		var swaps []fieldSwap
		flush := func() error {
			if _, err := s.col(sf.col).swapFields(ctx, s.rawCol(sf.col), swaps); err != nil {
				return fmt.Errorf("store re-encrypted values: %w", err)
			}
			swaps = swaps[:0]
			return nil
		}
		for _, doc := range docs {
			for _, f := range sf.fields {
				bin, ok := doc[f].(primitive.Binary)
				if !ok || sealedKeyID(bin) == nil || bytes.Equal(sealedKeyID(bin), keyID) {
					continue
				}
				plain, err := s.crypt.ce.Decrypt(ctx, bin)
				if err != nil {
					return done, fmt.Errorf("re-encrypt %s %v: %w", sf.col, doc["_id"], err)
				}
				again, err := s.encryptUnder(ctx, key, plain)
				if err != nil {
					return done, err
				}
				id, _ := doc["_id"].(string)
				swaps = append(swaps, fieldSwap{id: id, field: f, old: bin, new: again})
				done++
			}
			if len(swaps) >= batch {
				if err := flush(); err != nil {
					return done, err
				}
			}
		}
		if err := flush(); err != nil {
			return done, err
		}
	}
	return done, nil
}

// WorkspacesRotatingKeys lists the workspaces with a key rotation in progress.
func (s *Store) WorkspacesRotatingKeys(ctx context.Context) ([]string, error) {
	var ws []struct {
		ID string `bson:"_id"`
	}
	if err := s.all(ctx, colWorkspaces, bson.M{"keyRotation": bson.M{"$exists": true}, "deletingAt": bson.M{"$exists": false}}, &ws,
		"find key rotations", options.Find().SetProjection(bson.M{"_id": 1})); err != nil {
		return nil, err
	}
	ids := make([]string, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids, nil
}

// FinishKeyRotation closes the rotation and dates it. It reports false when
// the rotation was already closed (by another caller).
func (s *Store) FinishKeyRotation(ctx context.Context, workspaceID string, rot KeyRotation, now time.Time) (bool, error) {
	res, err := s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID, "keyRotation.to": rot.To},
		bson.M{"$set": bson.M{"keyRotatedAt": now, "updatedAt": now}, "$unset": bson.M{"keyRotation": ""}})
	if err != nil {
		return false, fmt.Errorf("finish key rotation: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// DeleteDataKeyNamed destroys one data key: values still under it are lost.
func (s *Store) DeleteDataKeyNamed(ctx context.Context, name string) error {
	if _, err := s.crypt.keyVault().DeleteMany(ctx, bson.M{"keyAltNames": name}); err != nil {
		return fmt.Errorf("delete data key: %w", err)
	}
	return nil
}

// workspaceKeys selects every data key of a workspace: its first and the rotated ones.
func workspaceKeys(workspaceID string) bson.M {
	return bson.M{"keyAltNames": bson.M{"$regex": "^" + regexp.QuoteMeta(workspaceID) + "(/|$)"}}
}

// dataKeyID returns the id of the data key named name.
func (s *Store) dataKeyID(ctx context.Context, name string) ([]byte, error) {
	var k struct {
		ID primitive.Binary `bson:"_id"`
	}
	err := s.crypt.keyVault().FindOne(ctx, bson.M{"keyAltNames": name}, options.FindOne().SetProjection(bson.M{"_id": 1})).Decode(&k)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("data key %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find data key: %w", err)
	}
	return k.ID.Data, nil
}

// sealedKeyID is the id of the data key a value was encrypted with: an
// encrypted value (BSON binary subtype 6) starts with its algorithm's byte
// (1 deterministic, 2 random) and the key's 16-byte UUID. nil for anything else.
func sealedKeyID(b primitive.Binary) []byte {
	if b.Subtype != 6 || len(b.Data) < 17 || (b.Data[0] != 1 && b.Data[0] != 2) {
		return nil
	}
	return b.Data[1:17]
}
