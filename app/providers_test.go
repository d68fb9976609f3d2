package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/golang-jwt/jwt/v5"
)

// testCA makes a certificate for 127.0.0.1/localhost and the pool that trusts it.
func testCA(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "credkeep test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpBackend accepts one user and password, over TLS only.
type smtpBackend struct{ user, password string }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct{ b smtpBackend }

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if strings.HasPrefix(pass, "echo-") {
			// A hostile server repeats what it was sent in its reply text.
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "rejected user " + user + " password " + pass}
		}
		if user != s.b.user || pass != s.b.password {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }

// startSMTP runs an SMTP server on loopback: STARTTLS on one port, implicit TLS on another.
func startSMTP(t *testing.T, cert tls.Certificate) (starttlsPort, tlsPort string) {
	t.Helper()
	serve := func(implicit bool) string {
		s := smtp.NewServer(smtpBackend{user: "mailer", password: "right-password-123"})
		s.Domain = "localhost"
		s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		var ln net.Listener
		var err error
		if implicit {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
		} else {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Serve(ln) }()
		t.Cleanup(func() { _ = s.Close() })
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		return port
	}
	return serve(false), serve(true)
}

// oauthServer is an authorization server: codes bound to PKCE challenges,
// rotating refresh tokens, client credentials, and invalid_grant on demand.
type oauthServer struct {
	*httptest.Server
	mu           sync.Mutex
	codes        map[string]string // code -> S256 challenge
	refresh      map[string]bool   // valid refresh tokens
	refreshes    int
	expiresIn    int
	invalidGrant bool
	n            int
	// idToken, when set, is sent as the ID token of an authorization (signed
	// with a key of the test's: credkeep reads it without the signature).
	idToken jwt.MapClaims
	// userinfo, when set, answers /userinfo for a bearer token it issued.
	userinfo map[string]any
	scope    string // the "scope" of token responses, when set
}

func startOAuth(t *testing.T) *oauthServer {
	o := &oauthServer{codes: map[string]string{}, refresh: map[string]bool{}, expiresIn: 3600}
	o.Server = httptest.NewServer(http.HandlerFunc(o.token))
	t.Cleanup(o.Close)
	return o
}

func (o *oauthServer) addCode(code, challenge string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.codes[code] = challenge
}

func (o *oauthServer) token(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/userinfo" {
		o.serveUserinfo(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fail := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if id != "client-1" || secret != "client-secret-value-xyz" {
		fail("invalid_client")
		return
	}
	o.n++
	issue := map[string]any{"access_token": fmt.Sprintf("access-%d", o.n), "token_type": "Bearer", "expires_in": o.expiresIn}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		challenge, ok := o.codes[r.PostForm.Get("code")]
		delete(o.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			fail("invalid_grant")
			return
		}
		rt := fmt.Sprintf("refresh-%d", o.n)
		o.refresh[rt] = true
		issue["refresh_token"] = rt
		if o.idToken != nil {
			signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, o.idToken).SignedString([]byte("the provider's own key"))
			if err != nil {
				panic(err)
			}
			issue["id_token"] = signed
		}
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if o.invalidGrant || !o.refresh[rt] {
			fail("invalid_grant")
			return
		}
		o.refreshes++
		delete(o.refresh, rt) // rotation: each refresh token works once
		next := fmt.Sprintf("refresh-%d", o.n)
		o.refresh[next] = true
		issue["refresh_token"] = next
	case "client_credentials":
	default:
		fail("unsupported_grant_type")
		return
	}
	if o.scope != "" {
		issue["scope"] = o.scope
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(issue)
}

func (o *oauthServer) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.userinfo == nil || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer access-") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(o.userinfo)
}
