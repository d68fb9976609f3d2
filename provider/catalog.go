// Package provider is everything credkeep knows about the services credentials
// are for, in one entry per credential type (SPEC.md §3): the fields and their
// kinds, which fields say where secrets go, how a connection test checks the
// credential, and how an OAuth2 type obtains tokens. Nothing else in credkeep
// switches on a type's key.
package provider

import "net/http"

// AuthKind is how a credential type authenticates.
type AuthKind string

// Auth kinds.
const (
	OAuth2    AuthKind = "OAUTH2"
	APIKey    AuthKind = "API_KEY"
	BasicAuth AuthKind = "BASIC_AUTH"
	Custom    AuthKind = "CUSTOM"
)

// FieldKind is the kind of a field's value.
type FieldKind string

// Field kinds.
const (
	Text     FieldKind = "TEXT"
	Number   FieldKind = "NUMBER"
	Email    FieldKind = "EMAIL"
	URL      FieldKind = "URL"
	Hostname FieldKind = "HOSTNAME"
	Port     FieldKind = "PORT"
	Boolean  FieldKind = "BOOLEAN"
	Select   FieldKind = "SELECT"
)

// FieldSpec describes one field of a credential type.
type FieldSpec struct {
	Key         string
	Label       string
	Kind        FieldKind
	Required    bool
	Secret      bool
	Description string
	Default     string
	Options     []string
	// Prefixes, when set, are the accepted starts of the value.
	Prefixes []string
}

// Type is a credential type of the catalog.
type Type struct {
	Key      string
	Name     string
	AuthKind AuthKind
	Editable bool
	Testable bool
	Fields   []FieldSpec
	// OAuth is how an OAuth2 type obtains tokens (nil for the others).
	OAuth *OAuth
	// Check is how testCredential checks it (nil when it cannot be tested).
	Check *Check
}

// Field returns the spec of a field key.
func (t *Type) Field(key string) (FieldSpec, bool) {
	for _, f := range t.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return FieldSpec{}, false
}

// Destination reports whether a field says where the secrets are sent (SPEC.md
// §8): a URL, host name or port, or how an SMTP connection is secured.
// Changing one needs every set secret entered again, so that a person who may
// edit a credential but never saw its secrets cannot send them elsewhere.
func (t *Type) Destination(key string) bool {
	f, ok := t.Field(key)
	if !ok {
		return false
	}
	return f.Kind == URL || f.Kind == Hostname || f.Kind == Port || (t.Key == "smtp" && key == "security")
}

// IsCustom reports whether the type accepts any field keys.
func (t *Type) IsCustom() bool { return t.AuthKind == Custom }

const (
	googleSheetsScope = "https://www.googleapis.com/auth/spreadsheets"
	msGraphScope      = "https://graph.microsoft.com/.default"
)

var catalog = []Type{
	{Key: "smtp", Name: "SMTP", AuthKind: BasicAuth, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "host", Label: "Host", Kind: Hostname, Required: true, Description: "SMTP server name or IP address"},
		{Key: "port", Label: "Port", Kind: Port, Required: true, Default: "587"},
		{Key: "username", Label: "Username", Kind: Text, Required: true},
		{Key: "password", Label: "Password", Kind: Text, Required: true, Secret: true},
		{Key: "security", Label: "Security", Kind: Select, Default: "starttls", Options: []string{"starttls", "tls", "none"},
			Description: "starttls upgrades a plain connection; tls connects with TLS from the start"},
		{Key: "fromAddress", Label: "From address", Kind: Email},
	}, Check: &Check{SMTP: true}},
	{Key: "google_sheets", Name: "Google Sheets", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "clientId", Label: "Client ID", Kind: Text, Required: true},
		{Key: "clientSecret", Label: "Client secret", Kind: Text, Required: true, Secret: true},
		{Key: "scopes", Label: "Scopes", Kind: Text, Default: googleSheetsScope, Description: "space-separated OAuth2 scopes"},
	}, OAuth: googleOAuth, Check: &Check{Token: true}},
	{Key: "microsoft365", Name: "Microsoft 365", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "tenantId", Label: "Tenant ID", Kind: Text, Required: true},
		{Key: "clientId", Label: "Client ID", Kind: Text, Required: true},
		{Key: "clientSecret", Label: "Client secret", Kind: Text, Required: true, Secret: true},
		{Key: "grantType", Label: "Grant type", Kind: Select, Default: "client_credentials", Options: []string{"authorization_code", "client_credentials"}},
		{Key: "scopes", Label: "Scopes", Kind: Text, Description: "space-separated OAuth2 scopes (default " + msGraphScope + " for client credentials)"},
	}, OAuth: microsoftOAuth, Check: &Check{Token: true}},
	{Key: "whatsapp", Name: "WhatsApp Business", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "phoneNumberId", Label: "Phone number ID", Kind: Text, Required: true},
		{Key: "businessAccountId", Label: "Business account ID", Kind: Text, Required: true},
		{Key: "accessToken", Label: "Access token", Kind: Text, Required: true, Secret: true},
	}, OAuth: &OAuth{StaticToken: "accessToken"}, Check: &Check{HTTP: &HTTPCheck{BaseKey: "whatsapp", DefaultBase: "https://graph.facebook.com", Path: pathOf("/v19.0/{phoneNumberId}", "phoneNumberId"), Auth: bearer("accessToken")}}},
	{Key: "stripe", Name: "Stripe", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "secretKey", Label: "Secret key", Kind: Text, Required: true, Secret: true,
			Prefixes: []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"}, Description: "starts with sk_live_, sk_test_, rk_live_ or rk_test_"},
		{Key: "publishableKey", Label: "Publishable key", Kind: Text},
	}, Check: &Check{HTTP: &HTTPCheck{BaseKey: "stripe", DefaultBase: "https://api.stripe.com", Path: pathOf("/v1/balance"), Auth: bearer("secretKey")}}},
	{Key: "openai", Name: "OpenAI", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "apiKey", Label: "API key", Kind: Text, Required: true, Secret: true},
		{Key: "organizationId", Label: "Organization ID", Kind: Text},
		{Key: "baseUrl", Label: "Base URL", Kind: URL, Description: "for compatible APIs and proxies"},
	}, Check: &Check{HTTP: openAICheck}},
	{Key: "mailgun", Name: "Mailgun", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "domain", Label: "Domain", Kind: Hostname, Required: true},
		{Key: "apiKey", Label: "API key", Kind: Text, Required: true, Secret: true},
		{Key: "senderAddress", Label: "Sender address", Kind: Email},
		{Key: "region", Label: "Region", Kind: Select, Default: "us", Options: []string{"us", "eu"}},
	}, Check: &Check{HTTP: mailgunCheck}},
	{Key: "twilio", Name: "Twilio", AuthKind: BasicAuth, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "accountSid", Label: "Account SID", Kind: Text, Required: true},
		{Key: "authToken", Label: "Auth token", Kind: Text, Required: true, Secret: true},
		{Key: "fromNumber", Label: "From number", Kind: Text},
	}, Check: &Check{HTTP: twilioCheck}},
	{Key: "api_key", Name: "API key", AuthKind: APIKey, Editable: true, Testable: false, Fields: []FieldSpec{
		{Key: "apiKey", Label: "API key", Kind: Text, Required: true, Secret: true},
		{Key: "headerName", Label: "Header name", Kind: Text, Default: "Authorization"},
		{Key: "baseUrl", Label: "Base URL", Kind: URL},
	}},
	{Key: "basic_auth", Name: "Basic auth", AuthKind: BasicAuth, Editable: true, Testable: false, Fields: []FieldSpec{
		{Key: "username", Label: "Username", Kind: Text, Required: true},
		{Key: "password", Label: "Password", Kind: Text, Required: true, Secret: true},
		{Key: "baseUrl", Label: "Base URL", Kind: URL},
	}},
	{Key: "oauth2", Name: "OAuth2 (generic)", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "authorizationUrl", Label: "Authorization URL", Kind: URL},
		{Key: "tokenUrl", Label: "Token URL", Kind: URL, Required: true},
		{Key: "clientId", Label: "Client ID", Kind: Text, Required: true},
		{Key: "clientSecret", Label: "Client secret", Kind: Text, Required: true, Secret: true},
		{Key: "scopes", Label: "Scopes", Kind: Text, Description: "space-separated OAuth2 scopes"},
		{Key: "grantType", Label: "Grant type", Kind: Select, Default: "authorization_code", Options: []string{"authorization_code", "client_credentials"}},
	}, OAuth: genericOAuth, Check: &Check{Token: true}},
	{Key: "custom", Name: "Custom", AuthKind: Custom, Editable: true, Testable: false},
}

var (
	googleOAuth = &OAuth{
		Endpoints: func(_ map[string]string, base Bases) (string, string) {
			if g := base("google", ""); g != "" {
				return g + "/o/oauth2/v2/auth", g + "/token"
			}
			return "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token"
		},
		ClientCredentials: func(map[string]string) bool { return false },
		Userinfo: func(base Bases) string {
			if g := base("google", ""); g != "" {
				return g + "/userinfo"
			}
			return "https://openidconnect.googleapis.com/v1/userinfo"
		},
	}
	microsoftOAuth = &OAuth{
		Endpoints: func(fields map[string]string, base Bases) (string, string) {
			login := base("microsoft", "https://login.microsoftonline.com") + "/" + fields["tenantId"] + "/oauth2/v2.0"
			return login + "/authorize", login + "/token"
		},
		ClientCredentials: func(fields map[string]string) bool { return fields["grantType"] != "authorization_code" },
		DefaultScopes: func(fields map[string]string) []string {
			if fields["grantType"] != "authorization_code" {
				return []string{msGraphScope}
			}
			return nil
		},
		Userinfo: func(base Bases) string {
			return base("microsoft_graph", "https://graph.microsoft.com") + "/oidc/userinfo"
		},
	}
	genericOAuth = &OAuth{
		Endpoints: func(fields map[string]string, _ Bases) (string, string) {
			return fields["authorizationUrl"], fields["tokenUrl"]
		},
		ClientCredentials: func(fields map[string]string) bool { return fields["grantType"] == "client_credentials" },
	}
	openAICheck = &HTTPCheck{BaseKey: "openai", DefaultBase: "https://api.openai.com", BaseField: "baseUrl", Path: pathOf("/v1/models"),
		Auth: func(r *http.Request, fields map[string]string, secret Secrets) {
			r.Header.Set("Authorization", "Bearer "+secret("apiKey"))
			if org := fields["organizationId"]; org != "" {
				r.Header.Set("OpenAI-Organization", org)
			}
		}}
	mailgunCheck = &HTTPCheck{BaseKey: "mailgun", Path: pathOf("/v3/domains/{domain}", "domain"),
		Base: func(fields map[string]string) string {
			if fields["region"] == "eu" {
				return "https://api.eu.mailgun.net"
			}
			return "https://api.mailgun.net"
		},
		Auth: func(r *http.Request, _ map[string]string, secret Secrets) { r.SetBasicAuth("api", secret("apiKey")) }}
	twilioCheck = &HTTPCheck{BaseKey: "twilio", DefaultBase: "https://api.twilio.com", Path: pathOf("/2010-04-01/Accounts/{accountSid}.json", "accountSid"),
		Auth: func(r *http.Request, fields map[string]string, secret Secrets) {
			r.SetBasicAuth(fields["accountSid"], secret("authToken"))
		}}
)

var byKey = func() map[string]*Type {
	m := make(map[string]*Type, len(catalog))
	for i := range catalog {
		m[catalog[i].Key] = &catalog[i]
	}
	return m
}()

// Types returns the catalog in its fixed order.
func Types() []Type { return catalog }

// Lookup returns a type by key.
func Lookup(key string) (*Type, bool) {
	t, ok := byKey[key]
	return t, ok
}

// BaseKeys are the names CREDKEEP_PROVIDER_BASE_URLS accepts: the services
// whose endpoints an operator may point elsewhere (a private endpoint, a mock).
func BaseKeys() []string {
	return []string{"stripe", "openai", "mailgun", "twilio", "whatsapp", "google", "microsoft", "microsoft_graph"}
}
