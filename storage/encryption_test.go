package storage_test

import (
	"bytes"
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestEncryptedValueRoundTripsAndNeverTouchesDiskInClear stores an encrypted
// secret, reads it back decrypted, and then searches every byte the embedded
// database wrote for the plaintext.
func TestEncryptedValueRoundTripsAndNeverTouchesDiskInClear(t *testing.T) {
	db, s := storagetest.Store(t)
	ctx := context.Background()
	const plaintext = "PLAINTEXT-MARKER-7f3a9c-correct-horse-battery"
	if err := s.CreateDataKey(ctx, "ws-1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.RoundTripEncrypted(ctx, "ws-1", bson.M{"password": plaintext})
	if err != nil {
		t.Fatal(err)
	}
	if got["password"] != plaintext {
		t.Fatalf("decrypted value = %v, want the plaintext", got)
	}

	s.Close(ctx)
	for path, b := range db.ScanFiles(t) {
		if bytes.Contains(b, []byte(plaintext)) {
			t.Errorf("plaintext found in %s", path)
		}
	}
}

func TestDeletedDataKeyMakesValuesUnreadable(t *testing.T) {
	db, s := storagetest.Store(t)
	ctx := context.Background()
	if err := s.CreateDataKey(ctx, "ws-2"); err != nil {
		t.Fatal(err)
	}
	id, err := s.InsertEncrypted(ctx, "ws-2", bson.M{"apiKey": "sk_test_abcdefghijklmnop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDataKey(ctx, "ws-2"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Raw(t).HasDataKey(ctx, "ws-2"); err != nil || ok {
		t.Fatalf("key still present: %v %v", ok, err)
	}
	// A new instance (no key cache) cannot decrypt any more.
	other := db.Open(t)
	if _, err := other.ReadEncrypted(ctx, id); err == nil {
		t.Fatal("value still decrypts after its data key was deleted")
	}
	// Deleting again is fine: an interrupted workspace deletion can be retried.
	if err := s.DeleteDataKey(ctx, "ws-2"); err != nil {
		t.Fatal(err)
	}
}

var _ = storage.ErrNotFound
