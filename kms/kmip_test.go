package kms_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipserver"
	"github.com/ovh/kmip-go/payloads"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// kmipServer is a KMIP server on loopback (ovh/kmip-go's kmipserver) that
// keeps secret data in memory: what libmongocrypt needs of a KMIP KMS
// (Register a 96-byte key, Activate it, Get it), over mutual TLS.
type kmipServer struct {
	Addr             string
	CA, Cert, Key    string // PEM files: the CA, and the client certificate and key credkeep presents
	mu               sync.Mutex
	objects          map[string][]byte
	gets, registered int
	down             bool
}

func startKMIP(t *testing.T) *kmipServer {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test KMIP CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, tpl *x509.Certificate) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl.SerialNumber, tpl.NotBefore, tpl.NotAfter = big.NewInt(serial), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair, certPEM, keyPEM
	}
	serverPair, _, _ := issue(2, &x509.Certificate{Subject: pkix.Name{CommonName: "kmip"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	_, clientCert, clientKey := issue(3, &x509.Certificate{Subject: pkix.Name{CommonName: "credkeep"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature})
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	k := &kmipServer{Addr: ln.Addr().String(), objects: map[string][]byte{},
		CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")}
	for path, b := range map[string][]byte{k.CA: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), k.Cert: clientCert, k.Key: clientKey} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exec := kmipserver.NewBatchExecutor()
	exec.Route(kmip.OperationRegister, kmipserver.HandleFunc(k.register))
	exec.Route(kmip.OperationActivate, kmipserver.HandleFunc(k.activate))
	exec.Route(kmip.OperationGet, kmipserver.HandleFunc(k.get))
	srv := kmipserver.NewServer(ln, exec)
	go func() {
		if err := srv.Serve(); err != nil && !errors.Is(err, kmipserver.ErrShutdown) {
			t.Errorf("KMIP server: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return k
}

func (k *kmipServer) register(_ context.Context, req *payloads.RegisterRequestPayload) (*payloads.RegisterResponsePayload, error) {
	sd, ok := req.Object.(*kmip.SecretData)
	if !ok {
		return nil, kmipserver.Errorf(kmip.ResultReasonInvalidField, "only secret data")
	}
	b, err := sd.KeyBlock.GetBytes()
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.registered++
	id := fmt.Sprintf("key-%d", k.registered)
	k.objects[id] = b
	return &payloads.RegisterResponsePayload{UniqueIdentifier: id}, nil
}

func (k *kmipServer) activate(_ context.Context, req *payloads.ActivateRequestPayload) (*payloads.ActivateResponsePayload, error) {
	return &payloads.ActivateResponsePayload{UniqueIdentifier: req.UniqueIdentifier}, nil
}

func (k *kmipServer) get(_ context.Context, req *payloads.GetRequestPayload) (*payloads.GetResponsePayload, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gets++
	b, ok := k.objects[req.UniqueIdentifier]
	if !ok || k.down {
		return nil, kmipserver.Errorf(kmip.ResultReasonItemNotFound, "no such object")
	}
	return &payloads.GetResponsePayload{ObjectType: kmip.ObjectTypeSecretData, UniqueIdentifier: req.UniqueIdentifier,
		Object: &kmip.SecretData{SecretDataType: kmip.SecretDataTypeSeed, KeyBlock: kmip.KeyBlock{
			KeyFormatType: kmip.KeyFormatTypeOpaque, KeyValue: &kmip.KeyValue{Plain: &kmip.PlainKeyValue{KeyMaterial: kmip.KeyMaterial{Bytes: &b}}}}}}, nil
}

// TestKMIP: a workspace's data key is wrapped by a key the KMIP server holds
// (registered by libmongocrypt), a secret stored under it is read back by a
// new Store (a restart: no key cached), and the master key never reaches the
// database: without the KMS nothing is readable.
func TestKMIP(t *testing.T) {
	srv := startKMIP(t)
	settings, err := kms.New(config.KMS{Provider: "kmip", KMIPEndpoint: srv.Addr, TLSCA: srv.CA, TLSCert: srv.Cert, TLSKey: srv.Key}, redact.Bytes{})
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
	srv.mu.Lock()
	gets, registered := srv.gets, srv.registered
	srv.mu.Unlock()
	if registered != 1 || gets < 2 {
		t.Errorf("KMIP saw %d registrations and %d gets; want 1 and at least 2 (create, then the restarted read)", registered, gets)
	}

	// A client certificate the KMS does not trust gets nothing.
	other := startKMIP(t)
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
