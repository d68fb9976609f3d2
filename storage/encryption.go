package storage

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.opentelemetry.io/otel/attribute"

	"credkeep/tracing"
)

const (
	keyVaultDB         = "encryption"
	keyVaultCollection = "__keyVault"
	keyVaultNamespace  = keyVaultDB + "." + keyVaultCollection
	// Random (not deterministic): equal plaintexts give different ciphertexts, and
	// secrets are never queried by value.
	encryptAlgorithm = "AEAD_AES_256_CBC_HMAC_SHA_512-Random"
)

// encryption does explicit client-side field encryption with one data key per
// workspace (key alt name = workspace id), wrapped by the master key.
type encryption struct {
	keyVaultClient *mongo.Client
	ce             countedEncryption
}

func newEncryption(ctx context.Context, opts *options.ClientOptions, providers map[string]map[string]any, tlsConf map[string]*tls.Config, running *busy) (*encryption, error) {
	kv, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect key vault: %w", err)
	}
	ce, err := mongo.NewClientEncryption(kv, options.ClientEncryption().
		SetKeyVaultNamespace(keyVaultNamespace).
		SetKmsProviders(providers).
		SetTLSConfig(tlsConf))
	if err != nil {
		_ = kv.Disconnect(ctx)
		return nil, fmt.Errorf("set up field encryption: %w", err)
	}
	return &encryption{keyVaultClient: kv, ce: countedEncryption{ce: ce, running: running}}, nil
}

func (e *encryption) close(ctx context.Context) {
	_ = e.ce.ce.Close(ctx)
	_ = e.keyVaultClient.Disconnect(ctx)
}

func (e *encryption) keyVault() *mongo.Collection {
	return e.keyVaultClient.Database(keyVaultDB).Collection(keyVaultCollection)
}

func (e *encryption) ensureKeyVaultIndex(ctx context.Context) error {
	_, err := e.keyVault().Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "keyAltNames", Value: 1}},
		Options: options.Index().SetName("keyAltNames"),
	})
	if err != nil {
		return fmt.Errorf("create key vault index: %w", err)
	}
	return nil
}

// kmsSpan starts a span for a key operation: names "kms ..." always reach the
// KMS; "encrypt" and "decrypt" reach it only when libmongocrypt has not the
// data key unwrapped already (it keeps one for a minute). A no-op outside a
// traced request (see tracing.Start).
func (s *Store) kmsSpan(ctx context.Context, name string) (context.Context, func(error)) {
	return tracing.Start(ctx, name, attribute.String("kms.provider", s.kms.Provider))
}

// CreateDataKey creates the first data key of a workspace.
func (s *Store) CreateDataKey(ctx context.Context, workspaceID string) error {
	return s.createDataKeyNamed(ctx, workspaceID)
}

func (s *Store) createDataKeyNamed(ctx context.Context, name string) error {
	opts := options.DataKey().SetKeyAltNames([]string{name})
	if s.kms.MasterKey != nil {
		opts.SetMasterKey(s.kms.MasterKey)
	}
	ctx, end := s.kmsSpan(ctx, "kms create data key")
	_, err := s.crypt.ce.CreateDataKey(ctx, s.kms.Provider, opts)
	end(err)
	if err != nil {
		return fmt.Errorf("create data key: %w", err)
	}
	return nil
}

// DeleteDataKey destroys every data key of a workspace (crypto-shredding):
// every value encrypted with them becomes unreadable, backups included.
// Deleting keys that are already gone is not an error, so an interrupted
// workspace deletion can be retried.
func (s *Store) DeleteDataKey(ctx context.Context, workspaceID string) error {
	// DeleteMany also removes a duplicate key left by a create that was
	// retried after a lost reply.
	_, err := s.crypt.keyVault().DeleteMany(ctx, workspaceKeys(workspaceID))
	if err != nil {
		return fmt.Errorf("delete data key: %w", err)
	}
	return nil
}

// encryptUnder encrypts v (any BSON-marshallable value, typically a
// sub-document of secret fields; a bson.RawValue as it is) with the data key
// named key. Values of workspaces go through writeSealed, which names the
// workspace's current key and follows rotations. Reads of the stored value
// through this Store come back decrypted.
func (s *Store) encryptUnder(ctx context.Context, key string, v any) (primitive.Binary, error) {
	raw, ok := v.(bson.RawValue)
	if !ok {
		t, data, err := bson.MarshalValue(v)
		if err != nil {
			return primitive.Binary{}, fmt.Errorf("encode value to encrypt: %w", err)
		}
		raw = bson.RawValue{Type: t, Value: data}
	}
	ctx, end := s.kmsSpan(ctx, "encrypt")
	bin, err := s.crypt.ce.Encrypt(ctx, raw, options.Encrypt().SetAlgorithm(encryptAlgorithm).SetKeyAltName(key))
	end(err)
	if err != nil {
		return primitive.Binary{}, fmt.Errorf("encrypt: %w", err)
	}
	return bin, nil
}

// notUnderMasterKey selects the data keys the current master key does not
// wrap: another provider, or the same one with another key (the fields of the
// master key document but its endpoint, which only says where to reach it).
func (s *Store) notUnderMasterKey() bson.M {
	or := bson.A{bson.M{"masterKey.provider": bson.M{"$ne": s.kms.Provider}}}
	for k, v := range s.kms.MasterKey {
		if k != "endpoint" {
			or = append(or, bson.M{"masterKey." + k: bson.M{"$ne": v}})
		}
	}
	return bson.M{"$or": or}
}

// RewrapDataKeys re-wraps, batch by batch, every data key not yet under the
// current master key; each batch is one write, so an interruption leaves
// every key under one master key or the other and a new run goes on where
// it stopped. after is called after each batch with the count so far; an
// error from it stops the run. It returns how many keys it re-wrapped.
func (s *Store) RewrapDataKeys(ctx context.Context, batch int, after func(done int) error) (int, error) {
	done := 0
	for {
		cur, err := s.crypt.keyVault().Find(ctx, s.notUnderMasterKey(),
			options.Find().SetProjection(bson.M{"_id": 1}).SetLimit(int64(batch)).SetSort(bson.M{"_id": 1}))
		if err != nil {
			return done, fmt.Errorf("find data keys to re-wrap: %w", err)
		}
		var ids []struct {
			ID primitive.Binary `bson:"_id"`
		}
		if err := cur.All(ctx, &ids); err != nil {
			return done, fmt.Errorf("find data keys to re-wrap: %w", err)
		}
		if len(ids) == 0 {
			return done, nil
		}
		in := make(bson.A, len(ids))
		for i, d := range ids {
			in[i] = d.ID
		}
		opts := options.RewrapManyDataKey().SetProvider(s.kms.Provider)
		if s.kms.MasterKey != nil {
			opts.SetMasterKey(s.kms.MasterKey)
		}
		rctx, end := s.kmsSpan(ctx, "kms re-wrap data keys")
		_, err = s.crypt.ce.RewrapManyDataKey(rctx, bson.M{"_id": bson.M{"$in": in}}, opts)
		end(err)
		if err != nil {
			return done, fmt.Errorf("re-wrap data keys: %w", err)
		}
		done += len(ids)
		if after != nil {
			if err := after(done); err != nil {
				return done, err
			}
		}
	}
}

// DataKeysNotUnderMasterKey counts the data keys the current master key does not wrap.
func (s *Store) DataKeysNotUnderMasterKey(ctx context.Context) (int64, error) {
	n, err := s.crypt.keyVault().CountDocuments(ctx, s.notUnderMasterKey())
	if err != nil {
		return 0, fmt.Errorf("count data keys: %w", err)
	}
	return n, nil
}

// probeKey names the data key CheckKMS unwraps; no workspace has this id.
const probeKey = "_kms_probe"

// CheckKMS reports whether the KMS unwraps data keys now: a client of its
// own (libmongocrypt keeps an unwrapped key for a minute, which would hide an
// outage) decrypts a value under the probe data key, created on first use.
// A local master key needs no check.
//
// /readyz asks it, unauthenticated: its answer stands for kmsCheckTTL, and
// callers that arrive while a check runs wait for that check, so however
// often it is asked the KMS sees at most one call per period.
func (s *Store) CheckKMS(ctx context.Context) error {
	if s.kms.Provider == "local" {
		return nil
	}
	s.probeMu.Lock()
	defer s.probeMu.Unlock()
	if !s.kmsCheckedAt.IsZero() && time.Since(s.kmsCheckedAt) < s.kmsCheckTTL {
		return s.kmsCheckErr
	}
	s.kmsCheckErr = s.checkKMS(ctx)
	s.kmsCheckedAt = time.Now()
	return s.kmsCheckErr
}

func (s *Store) checkKMS(ctx context.Context) error {
	if s.probe.Subtype == 0 {
		n, err := s.crypt.keyVault().CountDocuments(ctx, bson.M{"keyAltNames": probeKey})
		if err != nil {
			return fmt.Errorf("find the probe key: %w", err)
		}
		if n == 0 {
			if err := s.CreateDataKey(ctx, probeKey); err != nil {
				return err
			}
		}
		if s.probe, err = s.encryptUnder(ctx, probeKey, "ok"); err != nil {
			return err
		}
	}
	kv, err := mongo.Connect(ctx, s.keyVaultOptions) // closed by ce.Close
	if err != nil {
		return fmt.Errorf("set up the KMS check: %w", err)
	}
	ce, err := mongo.NewClientEncryption(kv, options.ClientEncryption().
		SetKeyVaultNamespace(keyVaultNamespace).SetKmsProviders(s.kms.Providers).SetTLSConfig(s.kms.TLS))
	if err != nil {
		_ = kv.Disconnect(ctx)
		return fmt.Errorf("set up the KMS check: %w", err)
	}
	defer ce.Close(ctx)
	dctx, end := s.kmsSpan(ctx, "kms check")
	_, err = ce.Decrypt(dctx, s.probe)
	end(err)
	if err != nil {
		return fmt.Errorf("the KMS does not unwrap data keys: %w", err)
	}
	return nil
}
