// Package kmstest runs KMS protocol servers on loopback for tests: KMIP
// (ovh/kmip-go's kmipserver, mutual TLS) and AWS KMS.
package kmstest

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
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipserver"
	"github.com/ovh/kmip-go/payloads"

	"credkeep/internal/config"
)

// KMIP is a KMIP server on loopback (ovh/kmip-go's kmipserver) that
// keeps secret data in memory: what libmongocrypt needs of a KMIP KMS
// (Register a 96-byte key, Activate it, Get it), over mutual TLS.
type KMIP struct {
	Addr             string
	CA, Cert, Key    string // PEM files: the CA, and the client certificate and key credkeep presents
	mu               sync.Mutex
	objects          map[string][]byte
	gets, registered int
	down             bool
}

// Config is credkeep's KMS configuration for this server (its client certificate).
func (k *KMIP) Config() config.KMS {
	return config.KMS{Provider: "kmip", KMIPEndpoint: k.Addr, TLSCA: k.CA, TLSCert: k.Cert, TLSKey: k.Key}
}

// StartKMIP starts a KMIP server for t.
func StartKMIP(t testing.TB) *KMIP {
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
	k := &KMIP{Addr: ln.Addr().String(), objects: map[string][]byte{},
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

func (k *KMIP) register(_ context.Context, req *payloads.RegisterRequestPayload) (*payloads.RegisterResponsePayload, error) {
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

func (k *KMIP) activate(_ context.Context, req *payloads.ActivateRequestPayload) (*payloads.ActivateResponsePayload, error) {
	return &payloads.ActivateResponsePayload{UniqueIdentifier: req.UniqueIdentifier}, nil
}

func (k *KMIP) get(_ context.Context, req *payloads.GetRequestPayload) (*payloads.GetResponsePayload, error) {
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

// Counts are the registrations and gets the server answered.
func (k *KMIP) Counts() (registered, gets int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.registered, k.gets
}

// Register stores key as a KMIP object and returns its id (an existing key
// for CREDKEEP_KMS_KMIP_KEY_ID).
func (k *KMIP) Register(t testing.TB, key []byte) string {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.registered++
	id := fmt.Sprintf("key-%d", k.registered)
	k.objects[id] = slices.Clone(key)
	return id
}

// SetDown makes the server refuse every Get (down) or answer again.
func (k *KMIP) SetDown(down bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.down = down
}
