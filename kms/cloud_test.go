package kms_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage/storagetest"
)

// cloudKMS is one TLS server on loopback playing a cloud's identity endpoint
// and its KMS, as libmongocrypt calls them: Google (a JWT-bearer token
// request signed with the service account's key, then :encrypt and
// :decrypt) or Azure (a client-credentials token request, then wrapkey and
// unwrapkey). It checks the credentials and that the KMS calls carry the
// token it issued.
type cloudKMS struct {
	*httptest.Server
	CA    string
	mu    sync.Mutex
	calls map[string]int
	bad   []string
}

func startCloudKMS(t *testing.T, checkToken func(r *http.Request) bool) *cloudKMS {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	seal := func(p []byte) []byte {
		nonce := make([]byte, gcm.NonceSize())
		_, _ = rand.Read(nonce)
		return gcm.Seal(nonce, nonce, p, nil)
	}
	open := func(c []byte) ([]byte, bool) {
		if len(c) < gcm.NonceSize() {
			return nil, false
		}
		p, err := gcm.Open(nil, c[:gcm.NonceSize()], c[gcm.NonceSize():], nil)
		return p, err == nil
	}
	k := &cloudKMS{calls: map[string]int{}}
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		path := r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		fail := func(why string) {
			k.bad = append(k.bad, path+": "+why)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"denied"}`))
		}
		switch {
		case strings.HasSuffix(path, "/token"): // both clouds' identity endpoints end so
			k.calls["token"]++
			if !checkToken(r) {
				fail("token request refused")
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "issued-token", "expires_in": 3600, "token_type": "Bearer"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer issued-token" {
			fail("no token")
			return
		}
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch {
		case strings.HasSuffix(path, ":encrypt"): // Google
			k.calls["encrypt"]++
			p, _ := base64.StdEncoding.DecodeString(body["plaintext"])
			_ = json.NewEncoder(w).Encode(map[string]string{"ciphertext": base64.StdEncoding.EncodeToString(seal(p))})
		case strings.HasSuffix(path, ":decrypt"):
			k.calls["decrypt"]++
			c, _ := base64.StdEncoding.DecodeString(body["ciphertext"])
			p, ok := open(c)
			if !ok {
				fail("bad ciphertext")
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"plaintext": base64.StdEncoding.EncodeToString(p)})
		case strings.HasSuffix(path, "/wrapkey"): // Azure
			k.calls["encrypt"]++
			p, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(body["value"], "="))
			_ = json.NewEncoder(w).Encode(map[string]string{"kid": "https://" + r.Host + strings.TrimSuffix(path, "/wrapkey"), "value": base64.RawURLEncoding.EncodeToString(seal(p))})
		case strings.HasSuffix(path, "/unwrapkey"):
			k.calls["decrypt"]++
			c, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(body["value"], "="))
			p, ok := open(c)
			if !ok {
				fail("bad ciphertext")
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"kid": "k", "value": base64.RawURLEncoding.EncodeToString(p)})
		default:
			k.bad = append(k.bad, "unexpected "+r.Method+" "+path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(k.Close)
	k.CA = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(k.CA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// checkCalls: a token, one wrap (the data key's creation), an unwrap at
// least (the restarted read), and nothing refused.
func (k *cloudKMS) checkCalls(t *testing.T) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.calls["token"] < 1 || k.calls["encrypt"] != 1 || k.calls["decrypt"] < 1 || len(k.bad) > 0 {
		t.Errorf("calls %v; refused: %q", k.calls, k.bad)
	}
}

// roundTrip creates a data key with settings, stores a secret and reads it
// back through a new Store.
func roundTrip(t *testing.T, settings kms.Settings, provider string) {
	t.Helper()
	ctx := context.Background()
	db := storagetest.Start(t)
	s := db.OpenWithKMS(t, settings)
	if err := s.CreateDataKey(ctx, "ws"); err != nil {
		t.Fatalf("data key under %s: %v", provider, err)
	}
	id := storeSecret(t, s, "ws", provider+"-wrapped-secret-0042")
	if got := readSecret(t, db.OpenWithKMS(t, settings), id); got != provider+"-wrapped-secret-0042" {
		t.Errorf("after a restart: %q", got)
	}
	if p, _ := db.Raw(t).DataKeyProvider(ctx, "ws"); p != provider {
		t.Errorf("data key wrapped by %q, want %s", p, provider)
	}
}

func TestGCP(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	srv := startCloudKMS(t, func(r *http.Request) bool {
		// A JWT-bearer grant whose assertion the service account's key signed.
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			return false
		}
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		if len(parts) != 3 {
			return false
		}
		b64 := func(s string) []byte { b, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); return b }
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		var claims struct{ Iss string }
		_ = json.Unmarshal(b64(parts[1]), &claims)
		return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], b64(parts[2])) == nil &&
			claims.Iss == "credkeep@test-project.iam.gserviceaccount.com"
	})
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "credkeep@test-project.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	saFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	settings, err := kms.New(config.KMS{Provider: "gcp", GCPKey: "projects/test-project/locations/global/keyRings/credkeep/cryptoKeys/master",
		GCPCredentials: saFile, Endpoint: u.Host, TLSCA: srv.CA}, redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, settings, "gcp")
	srv.checkCalls(t)
}

func TestAzure(t *testing.T) {
	srv := startCloudKMS(t, func(r *http.Request) bool {
		return r.ParseForm() == nil && r.PostForm.Get("grant_type") == "client_credentials" && r.PostForm.Get("client_id") == "credkeep-app" &&
			r.PostForm.Get("client_secret") == "azure-client-secret" && strings.Contains(r.URL.Path, "/tenant-1/")
	})
	u, _ := url.Parse(srv.URL)
	settings, err := kms.New(config.KMS{Provider: "azure", AzureKey: "https://credkeep.vault.azure.net/keys/master/0123abcd",
		AzureTenantID: "tenant-1", AzureClientID: "credkeep-app", AzureClientSecret: redact.New("azure-client-secret"),
		Endpoint: u.Host, TLSCA: srv.CA}, redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, settings, "azure")
	srv.checkCalls(t)
}
