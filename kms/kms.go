// Package kms says where the master key is, in the terms libmongocrypt takes:
// the KMS provider data keys are created under, the credentials of each
// provider, the master key of new data keys, and TLS to the KMS. Local keys,
// AWS KMS, Google Cloud KMS, Azure Key Vault and KMIP (SPEC.md §11).
package kms

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"credkeep/internal/config"
	"credkeep/internal/redact"
)

// Settings are what storage hands to libmongocrypt.
type Settings struct {
	// Provider is the KMS provider new data keys are wrapped by.
	Provider string
	// Providers holds the credentials of every provider a data key may be
	// wrapped by (during a re-wrap: the old one too).
	Providers map[string]map[string]any
	// MasterKey is the master key of new data keys; nil for local.
	MasterKey map[string]any
	// TLS configures the connections to each provider's KMS.
	TLS map[string]*tls.Config
}

// Local is the settings of a local master key (96 bytes).
func Local(key redact.Bytes) Settings {
	return Settings{Provider: "local", Providers: map[string]map[string]any{"local": {"key": key.Reveal()}}}
}

// New builds the settings of c; local uses localKey. Every provider whose
// credentials are configured is usable (data keys may still be wrapped by a
// provider being left, until `credkeep keys rewrap` ran); new data keys go to
// c.Provider. Problems name the variable at fault (*config.Error).
func New(c config.KMS, localKey redact.Bytes) (Settings, error) {
	tlsConf, err := tlsConfig(c)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Provider: c.Provider, Providers: map[string]map[string]any{}}
	identity := c.IdentityEndpoint
	if identity == "" {
		identity = c.Endpoint
	}
	if localKey.Len() > 0 {
		s.Providers["local"] = map[string]any{"key": localKey.Reveal()}
	}
	if c.AWSAccessKeyID != "" && !c.AWSSecretKey.IsZero() {
		creds := map[string]any{"accessKeyId": c.AWSAccessKeyID, "secretAccessKey": c.AWSSecretKey.Reveal()}
		if !c.AWSSessionToken.IsZero() {
			creds["sessionToken"] = c.AWSSessionToken.Reveal()
		}
		s.Providers["aws"] = creds
	}
	if c.GCPCredentials != "" {
		email, key, err := gcpServiceAccount(c.GCPCredentials)
		if err != nil {
			return Settings{}, &config.Error{Var: "CREDKEEP_KMS_GCP_CREDENTIALS", Msg: err.Error()}
		}
		creds := map[string]any{"email": email, "privateKey": key}
		if identity != "" && c.Provider == "gcp" {
			creds["endpoint"] = identity
		}
		s.Providers["gcp"] = creds
	}
	if c.AzureTenantID != "" && c.AzureClientID != "" && !c.AzureClientSecret.IsZero() {
		creds := map[string]any{"tenantId": c.AzureTenantID, "clientId": c.AzureClientID, "clientSecret": c.AzureClientSecret.Reveal()}
		if identity != "" && c.Provider == "azure" {
			creds["identityPlatformEndpoint"] = identity
		}
		s.Providers["azure"] = creds
	}
	if c.KMIPEndpoint != "" {
		endpoint := c.KMIPEndpoint
		if c.Endpoint != "" && c.Provider == "kmip" {
			endpoint = c.Endpoint
		}
		s.Providers["kmip"] = map[string]any{"endpoint": endpoint}
	}
	if tlsConf != nil {
		s.TLS = map[string]*tls.Config{}
		for p := range s.Providers {
			if p != "local" {
				s.TLS[p] = tlsConf
			}
		}
	}
	switch c.Provider {
	case "local":
		if localKey.Len() == 0 {
			return Settings{}, &config.Error{Var: "CREDKEEP_MASTER_KEY", Msg: "required with CREDKEEP_KMS_PROVIDER=local"}
		}
	case "aws":
		s.MasterKey = map[string]any{"region": c.AWSRegion, "key": c.AWSKey}
		if c.Endpoint != "" {
			s.MasterKey["endpoint"] = c.Endpoint
		}
	case "gcp":
		p := strings.Split(c.GCPKey, "/") // projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]
		s.MasterKey = map[string]any{"projectId": p[1], "location": p[3], "keyRing": p[5], "keyName": p[7]}
		if len(p) == 10 {
			s.MasterKey["keyVersion"] = p[9]
		}
		if c.Endpoint != "" {
			s.MasterKey["endpoint"] = c.Endpoint
		}
	case "azure":
		rest := strings.TrimPrefix(c.AzureKey, "https://") // <vault host>/keys/<name>[/<version>]
		p := strings.Split(rest, "/")
		vault := p[0]
		if c.Endpoint != "" {
			vault = c.Endpoint
		}
		s.MasterKey = map[string]any{"keyVaultEndpoint": vault, "keyName": p[2]}
		if len(p) == 4 {
			s.MasterKey["keyVersion"] = p[3]
		}
	case "kmip":
		s.MasterKey = map[string]any{}
		if c.KMIPKeyID != "" {
			s.MasterKey["keyId"] = c.KMIPKeyID // else libmongocrypt registers a new key and records its id
		}
	}
	return s, nil
}

// tlsConfig is the TLS to the KMS: extra roots and a client certificate.
func tlsConfig(c config.KMS) (*tls.Config, error) {
	if c.TLSCA == "" && c.TLSCert == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCA != "" {
		pemBytes, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, &config.Error{Var: "CREDKEEP_KMS_TLS_CA", Msg: err.Error()}
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, &config.Error{Var: "CREDKEEP_KMS_TLS_CA", Msg: "no PEM certificate in the file"}
		}
		conf.RootCAs = roots
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, &config.Error{Var: "CREDKEEP_KMS_TLS_CERT", Msg: fmt.Sprintf("with CREDKEEP_KMS_TLS_KEY: %v", err)}
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// gcpServiceAccount reads the e-mail and the private key (base64 of its
// PKCS#8 DER, as libmongocrypt takes it) from a service-account JSON file.
func gcpServiceAccount(path string) (email, key string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var sa struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(b, &sa); err != nil || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return "", "", fmt.Errorf("not a service-account key file (client_email and private_key)")
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return "", "", fmt.Errorf("private_key is not PEM")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		return "", "", fmt.Errorf("private_key is not a PKCS#8 key: %v", err)
	}
	return sa.ClientEmail, base64.StdEncoding.EncodeToString(block.Bytes), nil
}
