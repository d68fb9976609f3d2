package kms_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/kms/kmstest"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestKMIP: a workspace's data key is wrapped by a key the KMIP server holds
// (registered by libmongocrypt), a secret stored under it is read back by a
// new Store (a restart: no key cached), and the master key never reaches the
// database: without the KMS nothing is readable.
func TestKMIP(t *testing.T) {
	srv := kmstest.StartKMIP(t)
	settings, err := kms.New(srv.Config(), redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := storagetest.Start(t)
	s := db.OpenWithKMS(t, settings)
	const ws = "ws-kmip"
	if err := s.CreateDataKey(ctx, ws); err != nil {
		t.Fatalf("data key under KMIP: %v", err)
	}
	id := storeSecret(t, s, ws, "kmip-held-secret-1234")
	if p, err := db.Raw(t).DataKeyProvider(ctx, ws); err != nil || p != "kmip" {
		t.Fatalf("data key wrapped by %q (%v), want kmip", p, err)
	}

	restarted := db.OpenWithKMS(t, settings)
	if got := readSecret(t, restarted, id); got != "kmip-held-secret-1234" {
		t.Errorf("after a restart: %q", got)
	}
	registered, gets := srv.Counts()
	if registered != 1 || gets < 2 {
		t.Errorf("KMIP saw %d registrations and %d gets; want 1 and at least 2 (create, then the restarted read)", registered, gets)
	}

	// A client certificate the KMS does not trust gets nothing.
	other := kmstest.StartKMIP(t)
	wrong, _ := kms.New(config.KMS{Provider: "kmip", KMIPEndpoint: srv.Addr, TLSCA: srv.CA, TLSCert: other.Cert, TLSKey: other.Key}, redact.Bytes{})
	if _, err := unseal(db.OpenWithKMS(t, wrong), id); err == nil {
		t.Error("a client the KMIP server does not trust read the secret")
	}
}

// storeSecret stores a credential with one secret in workspace ws.
func storeSecret(t *testing.T, s *storage.Store, ws, secret string) string {
	t.Helper()
	now := time.Now().UTC()
	id := fmt.Sprintf("cred-%d", now.UnixNano())
	c := storage.Credential{ID: id, WorkspaceID: ws, Name: id, NameKey: id, Type: "custom", OwnerID: "u",
		Fields: map[string]string{}, SecretKeys: []string{"token"}, CreatedAt: now, UpdatedAt: now}
	if err := s.InsertCredential(context.Background(), c, map[string]redact.Secret{"token": redact.New(secret)}); err != nil {
		t.Fatalf("store a secret: %v", err)
	}
	return id
}

func unseal(s *storage.Store, id string) (string, error) {
	_, sealed, err := s.SealedCredential(context.Background(), id)
	if err != nil {
		return "", err
	}
	secrets, err := s.Unseal(context.Background(), sealed)
	if err != nil {
		return "", err
	}
	return secrets["token"].Reveal(), nil
}

func readSecret(t *testing.T, s *storage.Store, id string) string {
	t.Helper()
	v, err := unseal(s, id)
	if err != nil {
		t.Fatalf("read the secret: %v", err)
	}
	return v
}

// bothCAs writes one PEM file holding the certificates of two files.
func bothCAs(t *testing.T, a, b string) string {
	t.Helper()
	pa, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cas.pem")
	if err := os.WriteFile(path, append(pa, pb...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKMSOutageIsSeenAtOnce: CheckKMS (behind /readyz) fails as soon as the
// KMS stops unwrapping data keys and its last answer expires (two seconds),
// though libmongocrypt still holds unwrapped keys for a minute, and succeeds
// again when it answers, with no restart. However often it is asked, the KMS
// sees one call per period.
func TestKMSOutageIsSeenAtOnce(t *testing.T) {
	srv := kmstest.StartKMIP(t)
	settings, err := kms.New(srv.Config(), redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := storagetest.Start(t).OpenWithKMS(t, settings)
	for i, want := range []bool{true, false, true} {
		srv.SetDown(!want)
		if i > 0 {
			time.Sleep(2100 * time.Millisecond) // the last answer expires
		}
		if err := s.CheckKMS(ctx); (err == nil) != want {
			t.Errorf("check %d with the KMS %s: %v", i, map[bool]string{true: "up", false: "down"}[want], err)
		}
	}
	time.Sleep(2100 * time.Millisecond)
	_, before := srv.Counts()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.CheckKMS(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, after := srv.Counts(); after-before != 1 {
		t.Errorf("50 checks at once made %d KMS calls, want 1", after-before)
	}
	if err := storagetest.Start(t).Open(t).CheckKMS(ctx); err != nil {
		t.Errorf("a local key needs no KMS: %v", err)
	}
}
