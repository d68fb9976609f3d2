// Package config reads credkeep's configuration from the environment (SPEC.md §7),
// once, into a typed struct. A bad value is an *Error naming the variable, which
// the server prints as one line before exiting with code 2.
package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"credkeep/internal/redact"
	"credkeep/provider"
)

// MasterKeyLen is the length of a local KMS master key in bytes.
const MasterKeyLen = 96

// MinJWTSecretLen is the shortest HS256 secret accepted: 256 bits, the size of the hash.
const MinJWTSecretLen = 32

// Config is credkeep's whole configuration.
type Config struct {
	Addr      string
	MongoURI  redact.Secret // may hold a database password
	DBName    string
	DataDir   string
	MasterKey redact.Bytes // empty: generated into DataDir (embedded database only)

	JWTSecret   redact.Secret
	JWKSURL     string
	JWTIssuer   string
	JWTAudience string

	// OIDC is the identity provider people sign in to the console with
	// (authorization code with PKCE); zero when not configured.
	OIDC OIDC
	// Console serves the web console at / (CREDKEEP_CONSOLE).
	Console bool
	// KMS is where the master key lives (local: MasterKey).
	KMS KMS

	CORSOrigins []string
	// CORSHeaders are request headers allowed in addition to the default set.
	CORSHeaders      []string
	Playground       bool
	Dev              bool
	PersistedQueries string
	TokenRateLimit   int
	APQMax           int
	// SecretVersions is how many versions of a credential's secrets are kept (CREDKEEP_SECRET_VERSIONS).
	SecretVersions int
	// MaxSubscriptions is how many event streams one caller may hold open per
	// instance (CREDKEEP_MAX_SUBSCRIPTIONS).
	MaxSubscriptions int
	// WebhookRate is how many webhook deliveries per second an instance makes
	// while it answers requests (CREDKEEP_WEBHOOK_RATE); idle, it delivers at full speed.
	WebhookRate int
	// ExpiryWarning is how long before its expiry a credential is expiring soon (CREDKEEP_EXPIRY_WARNING).
	ExpiryWarning time.Duration
	// SingleInstance accepts a MONGODB_URI database without atomic updates
	// (FerretDB v1) for this one process.
	SingleInstance      bool
	OAuthRedirectURL    string
	AllowPrivateTargets bool

	LogLevel  slog.Level
	LogFormat string // "json" or "text"
	// TrustedProxies may set X-Forwarded-For (audit entries record the client address).
	TrustedProxies []*net.IPNet
	// ProviderBaseURLs override providers' API and OAuth endpoints (key → base URL).
	ProviderBaseURLs map[string]string
	// PprofAddr, when set, serves net/http/pprof on this loopback address (profiling).
	PprofAddr string
}

// OIDC configures sign-in through an OpenID Connect provider.
type OIDC struct {
	Issuer   string // CREDKEEP_OIDC_ISSUER
	ClientID string // CREDKEEP_OIDC_CLIENT_ID (a public client: no secret)
	// Audience, when set, is asked for (the audience parameter) and the console
	// sends the access token; otherwise it sends the ID token.
	Audience string
	Scopes   []string
}

// Enabled reports whether OIDC sign-in is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// Embedded reports whether the server starts its own embedded database.
func (c *Config) Embedded() bool { return c.MongoURI.IsZero() }

// DevAuth reports whether no JWT verification is configured, so that the server
// signs and verifies development JWTs with a secret of its own.
func (c *Config) DevAuth() bool {
	return c.JWTSecret.IsZero() && c.JWKSURL == "" && !c.OIDC.Enabled()
}

// Error is a configuration error: the variable at fault and what is wrong with it.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

func bad(name, format string, args ...any) *Error {
	return &Error{Var: name, Msg: fmt.Sprintf(format, args...)}
}

// Lookup returns an environment variable and whether it is set (os.LookupEnv).
type Lookup func(name string) (string, bool)

// Load reads and validates the configuration. The error, if any, is an *Error.
func Load(lookup Lookup) (*Config, error) {
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	c := &Config{}
	var err error

	c.Addr = get("CREDKEEP_ADDR", ":8080")
	if err := checkAddr(c.Addr); err != nil {
		return nil, bad("CREDKEEP_ADDR", "%v", err)
	}

	uri := get("MONGODB_URI", "")
	if uri != "" && !strings.HasPrefix(uri, "mongodb://") && !strings.HasPrefix(uri, "mongodb+srv://") {
		return nil, bad("MONGODB_URI", "must start with mongodb:// or mongodb+srv://")
	}
	c.MongoURI = redact.New(uri)

	c.DBName = get("CREDKEEP_DB_NAME", "credkeep")
	if len(c.DBName) > 63 || strings.ContainsAny(c.DBName, `/\. "$`) {
		return nil, bad("CREDKEEP_DB_NAME", "not a valid database name (at most 63 characters, none of / \\ . \" $ or space)")
	}
	c.DataDir = get("CREDKEEP_DATA_DIR", "./data")

	if v := get("CREDKEEP_MASTER_KEY", ""); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, bad("CREDKEEP_MASTER_KEY", "not valid base64")
		}
		if len(key) != MasterKeyLen {
			return nil, bad("CREDKEEP_MASTER_KEY", "must decode to %d bytes, got %d", MasterKeyLen, len(key))
		}
		c.MasterKey = redact.NewBytes(key)
	}

	if c.Dev, err = getBool(get, "CREDKEEP_DEV", false); err != nil {
		return nil, err
	}
	if c.KMS, err = kmsConfig(get); err != nil {
		return nil, err
	}
	if v := get("CREDKEEP_OLD_MASTER_KEY", ""); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) != MasterKeyLen {
			return nil, bad("CREDKEEP_OLD_MASTER_KEY", "must be base64 of %d bytes", MasterKeyLen)
		}
		c.KMS.OldMasterKey = redact.NewBytes(key)
	}

	c.JWTSecret = redact.New(get("CREDKEEP_JWT_SECRET", ""))
	if !c.JWTSecret.IsZero() && len(c.JWTSecret.Reveal()) < MinJWTSecretLen {
		return nil, bad("CREDKEEP_JWT_SECRET", "must be at least %d bytes long", MinJWTSecretLen)
	}
	c.JWKSURL = get("CREDKEEP_JWT_JWKS_URL", "")
	if c.JWKSURL != "" {
		if !c.JWTSecret.IsZero() {
			return nil, bad("CREDKEEP_JWT_JWKS_URL", "set either CREDKEEP_JWT_SECRET or CREDKEEP_JWT_JWKS_URL, not both")
		}
		if err := checkJWKSURL(c.JWKSURL, c.Dev); err != nil {
			return nil, bad("CREDKEEP_JWT_JWKS_URL", "%v", err)
		}
	}
	c.JWTIssuer = get("CREDKEEP_JWT_ISSUER", "")
	c.JWTAudience = get("CREDKEEP_JWT_AUDIENCE", "")
	if c.OIDC, err = oidcConfig(get, c.Dev); err != nil {
		return nil, err
	}
	if c.OIDC.Enabled() && !c.JWTSecret.IsZero() {
		return nil, bad("CREDKEEP_OIDC_ISSUER", "people signed in with OIDC present the provider's tokens: unset CREDKEEP_JWT_SECRET (the keys come from the provider's JWKS)")
	}

	if !c.Embedded() && !c.Dev {
		// An external database means a real deployment: nothing may be generated.
		if c.MasterKey.Len() == 0 && c.KMS.Provider == "local" {
			return nil, bad("CREDKEEP_MASTER_KEY", "required with MONGODB_URI (base64 of %d random bytes)", MasterKeyLen)
		}
		if c.DevAuth() {
			return nil, bad("CREDKEEP_JWT_SECRET", "required with MONGODB_URI (or set CREDKEEP_JWT_JWKS_URL)")
		}
	}

	if v := get("CREDKEEP_CORS_ORIGINS", ""); v != "" {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			if err := checkOrigin(o); err != nil {
				return nil, bad("CREDKEEP_CORS_ORIGINS", "%q: %v", o, err)
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}

	if v := get("CREDKEEP_CORS_HEADERS", ""); v != "" {
		for _, h := range strings.Split(v, ",") {
			h = strings.TrimSpace(h)
			if h == "" {
				continue
			}
			if !validHeaderName(h) || h == "*" {
				return nil, bad("CREDKEEP_CORS_HEADERS", "%q is not a header name", h)
			}
			c.CORSHeaders = append(c.CORSHeaders, h)
		}
	}

	if c.Playground, err = getBool(get, "CREDKEEP_PLAYGROUND", c.Dev || c.DevAuth()); err != nil {
		return nil, err
	}
	if c.Console, err = getBool(get, "CREDKEEP_CONSOLE", true); err != nil {
		return nil, err
	}
	c.PersistedQueries = get("CREDKEEP_PERSISTED_QUERIES", "")

	limit := get("CREDKEEP_TOKEN_RATE_LIMIT", "5000")
	if c.TokenRateLimit, err = strconv.Atoi(limit); err != nil || c.TokenRateLimit < 1 {
		return nil, bad("CREDKEEP_TOKEN_RATE_LIMIT", "must be a whole number of requests per hour, at least 1")
	}

	apqMax := get("CREDKEEP_APQ_MAX", "10000")
	if c.APQMax, err = strconv.Atoi(apqMax); err != nil || c.APQMax < 1 {
		return nil, bad("CREDKEEP_APQ_MAX", "must be a whole number of stored queries, at least 1")
	}

	subs := get("CREDKEEP_MAX_SUBSCRIPTIONS", "20")
	if c.MaxSubscriptions, err = strconv.Atoi(subs); err != nil || c.MaxSubscriptions < 1 || c.MaxSubscriptions > 10000 {
		return nil, bad("CREDKEEP_MAX_SUBSCRIPTIONS", "must be a whole number of streams per caller, 1 to 10000")
	}
	whRate := get("CREDKEEP_WEBHOOK_RATE", "100")
	if c.WebhookRate, err = strconv.Atoi(whRate); err != nil || c.WebhookRate < 1 || c.WebhookRate > 100000 {
		return nil, bad("CREDKEEP_WEBHOOK_RATE", "must be a whole number of deliveries per second, 1 to 100000")
	}
	versions := get("CREDKEEP_SECRET_VERSIONS", "10")
	if c.SecretVersions, err = strconv.Atoi(versions); err != nil || c.SecretVersions < 1 || c.SecretVersions > 1000 {
		return nil, bad("CREDKEEP_SECRET_VERSIONS", "must be a whole number of versions to keep, 1 to 1000 (the current one counts)")
	}

	if c.ExpiryWarning, err = time.ParseDuration(get("CREDKEEP_EXPIRY_WARNING", "336h")); err != nil || c.ExpiryWarning < time.Hour {
		return nil, bad("CREDKEEP_EXPIRY_WARNING", "must be a duration of at least 1h, such as 336h (14 days)")
	}

	c.OAuthRedirectURL = get("CREDKEEP_OAUTH_REDIRECT_URL", "http://localhost:8080/oauth/callback")
	if u, err := url.Parse(c.OAuthRedirectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("CREDKEEP_OAUTH_REDIRECT_URL", "must be an absolute http(s) URL")
	}
	if c.AllowPrivateTargets, err = getBool(get, "CREDKEEP_ALLOW_PRIVATE_TARGETS", false); err != nil {
		return nil, err
	}
	if c.SingleInstance, err = getBool(get, "CREDKEEP_SINGLE_INSTANCE", false); err != nil {
		return nil, err
	}

	if v := get("CREDKEEP_TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if !strings.Contains(p, "/") {
				if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
					p += "/32"
				} else {
					p += "/128"
				}
			}
			_, n, err := net.ParseCIDR(p)
			if err != nil {
				return nil, bad("CREDKEEP_TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
			}
			c.TrustedProxies = append(c.TrustedProxies, n)
		}
	}

	if v := get("CREDKEEP_PROVIDER_BASE_URLS", ""); v != "" {
		c.ProviderBaseURLs = map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, u, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !slices.Contains(provider.BaseKeys(), k) {
				return nil, bad("CREDKEEP_PROVIDER_BASE_URLS", "unknown provider %q (%s)", k, strings.Join(provider.BaseKeys(), ", "))
			}
			if pu, err := url.Parse(u); !ok || err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, bad("CREDKEEP_PROVIDER_BASE_URLS", "%s needs an absolute http(s) URL", k)
			}
			c.ProviderBaseURLs[k] = u
		}
	}

	if v := get("CREDKEEP_PPROF_ADDR", ""); v != "" {
		host, _, err := net.SplitHostPort(v)
		if err != nil || !isLoopbackHost(host) {
			return nil, bad("CREDKEEP_PPROF_ADDR", "must be a loopback host:port (profiles reveal internals)")
		}
		c.PprofAddr = v
	}

	if err := c.LogLevel.UnmarshalText([]byte(get("CREDKEEP_LOG_LEVEL", "info"))); err != nil {
		return nil, bad("CREDKEEP_LOG_LEVEL", "must be debug, info, warn or error")
	}
	defFormat := "json"
	if c.Dev || c.DevAuth() {
		defFormat = "text"
	}
	c.LogFormat = get("CREDKEEP_LOG_FORMAT", defFormat)
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return nil, bad("CREDKEEP_LOG_FORMAT", "must be json or text")
	}
	return c, nil
}

func getBool(get func(string, string) string, name string, def bool) (bool, error) {
	v := get(name, strconv.FormatBool(def))
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, bad(name, "must be true or false")
	}
	return b, nil
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port or :port")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535")
	}
	return nil
}

// oidcConfig reads CREDKEEP_OIDC_*: an issuer and a client id together, or neither.
func oidcConfig(get func(string, string) string, dev bool) (OIDC, error) {
	o := OIDC{
		Issuer:   get("CREDKEEP_OIDC_ISSUER", ""),
		ClientID: get("CREDKEEP_OIDC_CLIENT_ID", ""),
		Audience: get("CREDKEEP_OIDC_AUDIENCE", ""),
		Scopes:   strings.Fields(get("CREDKEEP_OIDC_SCOPES", "openid email profile")),
	}
	switch {
	case o.Issuer == "" && o.ClientID == "":
		if o.Audience != "" {
			return OIDC{}, bad("CREDKEEP_OIDC_AUDIENCE", "needs CREDKEEP_OIDC_ISSUER and CREDKEEP_OIDC_CLIENT_ID")
		}
		return OIDC{}, nil
	case o.Issuer == "":
		return OIDC{}, bad("CREDKEEP_OIDC_ISSUER", "required with CREDKEEP_OIDC_CLIENT_ID")
	case o.ClientID == "":
		return OIDC{}, bad("CREDKEEP_OIDC_CLIENT_ID", "required with CREDKEEP_OIDC_ISSUER")
	}
	if err := checkJWKSURL(o.Issuer, dev); err != nil {
		return OIDC{}, bad("CREDKEEP_OIDC_ISSUER", "%v", err)
	}
	if !slices.Contains(o.Scopes, "openid") {
		return OIDC{}, bad("CREDKEEP_OIDC_SCOPES", "must include openid")
	}
	return o, nil
}

func checkJWKSURL(raw string, dev bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("must be an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		// Keys fetched over plain HTTP could be swapped in transit; allow it only for
		// a server on this machine (tests, a local identity provider) or in dev mode.
		if dev || isLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("must use https (http is accepted only for loopback hosts)")
	}
	return fmt.Errorf("must be an https URL")
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func checkOrigin(o string) error {
	if o == "*" || strings.Contains(o, "*") {
		return fmt.Errorf("wildcards are not allowed; list each origin")
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be scheme://host[:port]")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("an origin has no path, query or user part")
	}
	return nil
}

// validHeaderName reports whether h is an HTTP header name (an RFC 9110 token).
func validHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return h != ""
}
