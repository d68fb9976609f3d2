package config

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func env(vars map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var validKey = base64.StdEncoding.EncodeToString(make([]byte, MasterKeyLen))

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DBName != "credkeep" || c.DataDir != "./data" || c.TokenRateLimit != 5000 {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if !c.Embedded() || !c.DevAuth() || !c.Playground || c.Dev || c.AllowPrivateTargets {
		t.Errorf("unexpected mode: embedded=%v devAuth=%v playground=%v dev=%v", c.Embedded(), c.DevAuth(), c.Playground, c.Dev)
	}
	if c.OAuthRedirectURL != "http://localhost:8080/oauth/callback" {
		t.Errorf("redirect default: %s", c.OAuthRedirectURL)
	}
}

func TestConfiguredProduction(t *testing.T) {
	c, err := Load(env(map[string]string{
		"MONGODB_URI":                 "mongodb://db.internal:27017/?replicaSet=rs0",
		"CREDKEEP_MASTER_KEY":         validKey,
		"CREDKEEP_JWT_SECRET":         strings.Repeat("s", 40),
		"CREDKEEP_JWT_ISSUER":         "https://idp.example",
		"CREDKEEP_JWT_AUDIENCE":       "credkeep",
		"CREDKEEP_CORS_ORIGINS":       "https://app.example.com, http://localhost:3000",
		"CREDKEEP_TOKEN_RATE_LIMIT":   "100",
		"CREDKEEP_ADDR":               "127.0.0.1:9000",
		"CREDKEEP_PLAYGROUND":         "false",
		"CREDKEEP_OAUTH_REDIRECT_URL": "https://ck.example.com/oauth/callback",
		"CREDKEEP_TRUSTED_PROXIES":    "10.0.0.0/8, 192.168.1.5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Embedded() || c.DevAuth() || c.Playground || c.MasterKey.Len() != MasterKeyLen || c.TokenRateLimit != 100 {
		t.Errorf("unexpected config: %+v", c)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.5/32" {
		t.Errorf("proxies: %v", c.TrustedProxies)
	}
	if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "http://localhost:3000" {
		t.Errorf("origins: %v", c.CORSOrigins)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := []struct {
		name    string
		vars    map[string]string
		wantVar string
	}{
		{"short master key", map[string]string{"CREDKEEP_MASTER_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32))}, "CREDKEEP_MASTER_KEY"},
		{"master key not base64", map[string]string{"CREDKEEP_MASTER_KEY": "not base64!!"}, "CREDKEEP_MASTER_KEY"},
		{"external db without master key", map[string]string{"MONGODB_URI": "mongodb://x", "CREDKEEP_JWT_SECRET": strings.Repeat("s", 32)}, "CREDKEEP_MASTER_KEY"},
		{"external db without jwt", map[string]string{"MONGODB_URI": "mongodb://x", "CREDKEEP_MASTER_KEY": validKey}, "CREDKEEP_JWT_SECRET"},
		{"bad uri scheme", map[string]string{"MONGODB_URI": "postgres://x"}, "MONGODB_URI"},
		{"short jwt secret", map[string]string{"CREDKEEP_JWT_SECRET": "short"}, "CREDKEEP_JWT_SECRET"},
		{"both jwt configs", map[string]string{"CREDKEEP_JWT_SECRET": strings.Repeat("s", 32), "CREDKEEP_JWT_JWKS_URL": "https://idp/keys"}, "CREDKEEP_JWT_JWKS_URL"},
		{"plain http jwks", map[string]string{"CREDKEEP_JWT_JWKS_URL": "http://idp.example/keys"}, "CREDKEEP_JWT_JWKS_URL"},
		{"oidc without client", map[string]string{"CREDKEEP_OIDC_ISSUER": "https://id.example.com"}, "CREDKEEP_OIDC_CLIENT_ID"},
		{"oidc client without issuer", map[string]string{"CREDKEEP_OIDC_CLIENT_ID": "console"}, "CREDKEEP_OIDC_ISSUER"},
		{"oidc over plain http", map[string]string{"CREDKEEP_OIDC_ISSUER": "http://id.example.com", "CREDKEEP_OIDC_CLIENT_ID": "c"}, "CREDKEEP_OIDC_ISSUER"},
		{"oidc with a jwt secret", map[string]string{"CREDKEEP_OIDC_ISSUER": "https://id.example.com", "CREDKEEP_OIDC_CLIENT_ID": "c", "CREDKEEP_JWT_SECRET": strings.Repeat("s", 32)}, "CREDKEEP_OIDC_ISSUER"},
		{"oidc scopes without openid", map[string]string{"CREDKEEP_OIDC_ISSUER": "https://id.example.com", "CREDKEEP_OIDC_CLIENT_ID": "c", "CREDKEEP_OIDC_SCOPES": "email"}, "CREDKEEP_OIDC_SCOPES"},
		{"oidc audience alone", map[string]string{"CREDKEEP_OIDC_AUDIENCE": "api"}, "CREDKEEP_OIDC_AUDIENCE"},
		{"console not a bool", map[string]string{"CREDKEEP_CONSOLE": "maybe"}, "CREDKEEP_CONSOLE"},
		{"unknown kms", map[string]string{"CREDKEEP_KMS_PROVIDER": "vault"}, "CREDKEEP_KMS_PROVIDER"},
		{"aws without key", map[string]string{"CREDKEEP_KMS_PROVIDER": "aws", "CREDKEEP_KMS_AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}, "CREDKEEP_KMS_AWS_KEY"},
		{"aws key not an arn", map[string]string{"CREDKEEP_KMS_PROVIDER": "aws", "CREDKEEP_KMS_AWS_KEY": "my-key", "CREDKEEP_KMS_AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}, "CREDKEEP_KMS_AWS_KEY"},
		{"aws without credentials", map[string]string{"CREDKEEP_KMS_PROVIDER": "aws", "CREDKEEP_KMS_AWS_KEY": "arn:aws:kms:eu-west-3:123456789012:key/abc", "CREDKEEP_KMS_AWS_REGION": "eu-west-3"}, "AWS_ACCESS_KEY_ID"},
		{"gcp bad key", map[string]string{"CREDKEEP_KMS_PROVIDER": "gcp", "CREDKEEP_KMS_GCP_KEY": "keys/k", "CREDKEEP_KMS_GCP_CREDENTIALS": "/etc/hostname"}, "CREDKEEP_KMS_GCP_KEY"},
		{"gcp credentials missing", map[string]string{"CREDKEEP_KMS_PROVIDER": "gcp", "CREDKEEP_KMS_GCP_KEY": "projects/p/locations/l/keyRings/r/cryptoKeys/k", "CREDKEEP_KMS_GCP_CREDENTIALS": "/nonexistent/sa.json"}, "CREDKEEP_KMS_GCP_CREDENTIALS"},
		{"azure without secret", map[string]string{"CREDKEEP_KMS_PROVIDER": "azure", "CREDKEEP_KMS_AZURE_KEY": "https://v.vault.azure.net/keys/k", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}, "AZURE_CLIENT_SECRET"},
		{"kmip without client certificate", map[string]string{"CREDKEEP_KMS_PROVIDER": "kmip", "CREDKEEP_KMS_KMIP_ENDPOINT": "kmip.example.com:5696"}, "CREDKEEP_KMS_TLS_CERT"},
		{"kmip bad endpoint", map[string]string{"CREDKEEP_KMS_PROVIDER": "kmip", "CREDKEEP_KMS_KMIP_ENDPOINT": "https://kmip/", "CREDKEEP_KMS_TLS_CERT": "/etc/hostname", "CREDKEEP_KMS_TLS_KEY": "/etc/hostname"}, "CREDKEEP_KMS_KMIP_ENDPOINT"},
		{"old master key short", map[string]string{"CREDKEEP_OLD_MASTER_KEY": "AAAA"}, "CREDKEEP_OLD_MASTER_KEY"},
		{"bad addr", map[string]string{"CREDKEEP_ADDR": "8080"}, "CREDKEEP_ADDR"},
		{"bad port", map[string]string{"CREDKEEP_ADDR": ":99999"}, "CREDKEEP_ADDR"},
		{"wildcard origin", map[string]string{"CREDKEEP_CORS_ORIGINS": "*"}, "CREDKEEP_CORS_ORIGINS"},
		{"origin with path", map[string]string{"CREDKEEP_CORS_ORIGINS": "https://a.example/app"}, "CREDKEEP_CORS_ORIGINS"},
		{"bad bool", map[string]string{"CREDKEEP_DEV": "yes please"}, "CREDKEEP_DEV"},
		{"bad playground", map[string]string{"CREDKEEP_PLAYGROUND": "maybe"}, "CREDKEEP_PLAYGROUND"},
		{"bad rate limit", map[string]string{"CREDKEEP_TOKEN_RATE_LIMIT": "0"}, "CREDKEEP_TOKEN_RATE_LIMIT"},
		{"non-numeric rate limit", map[string]string{"CREDKEEP_TOKEN_RATE_LIMIT": "lots"}, "CREDKEEP_TOKEN_RATE_LIMIT"},
		{"relative redirect", map[string]string{"CREDKEEP_OAUTH_REDIRECT_URL": "/oauth/callback"}, "CREDKEEP_OAUTH_REDIRECT_URL"},
		{"bad db name", map[string]string{"CREDKEEP_DB_NAME": "a.b"}, "CREDKEEP_DB_NAME"},
		{"bad private targets", map[string]string{"CREDKEEP_ALLOW_PRIVATE_TARGETS": "2"}, "CREDKEEP_ALLOW_PRIVATE_TARGETS"},
		{"bad log level", map[string]string{"CREDKEEP_LOG_LEVEL": "loud"}, "CREDKEEP_LOG_LEVEL"},
		{"bad proxy", map[string]string{"CREDKEEP_TRUSTED_PROXIES": "10.0.0.1, proxy.example"}, "CREDKEEP_TRUSTED_PROXIES"},
		{"public pprof", map[string]string{"CREDKEEP_PPROF_ADDR": "0.0.0.0:6060"}, "CREDKEEP_PPROF_ADDR"},
		{"unknown provider", map[string]string{"CREDKEEP_PROVIDER_BASE_URLS": "paypal=https://x"}, "CREDKEEP_PROVIDER_BASE_URLS"},
		{"provider without url", map[string]string{"CREDKEEP_PROVIDER_BASE_URLS": "stripe=not a url"}, "CREDKEEP_PROVIDER_BASE_URLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.vars))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			if ce.Var != tc.wantVar {
				t.Errorf("error names %s, want %s (%v)", ce.Var, tc.wantVar, err)
			}
			if !strings.HasPrefix(err.Error(), tc.wantVar+": ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line naming the variable: %q", err)
			}
		})
	}
}

func TestOIDC(t *testing.T) {
	c, err := Load(env(map[string]string{"CREDKEEP_OIDC_ISSUER": "http://127.0.0.1:4000/", "CREDKEEP_OIDC_CLIENT_ID": "console"}))
	if err != nil {
		t.Fatal(err)
	}
	want := OIDC{Issuer: "http://127.0.0.1:4000/", ClientID: "console", Scopes: []string{"openid", "email", "profile"}}
	if !reflect.DeepEqual(c.OIDC, want) || c.DevAuth() || !c.Console {
		t.Errorf("OIDC %+v, dev auth %v, console %v", c.OIDC, c.DevAuth(), c.Console)
	}
}

func TestLoopbackJWKSOverHTTP(t *testing.T) {
	c, err := Load(env(map[string]string{"CREDKEEP_JWT_JWKS_URL": "http://127.0.0.1:4000/jwks.json"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DevAuth() {
		t.Error("JWKS configured: not dev auth")
	}
}
