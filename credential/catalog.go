// Package credential holds what credkeep knows about credentials: the built-in
// type catalog (SPEC.md §3), validation of field values, masking of secrets,
// status, and the service that creates, reads, updates, shares and deletes them.
package credential

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
	}},
	{Key: "google_sheets", Name: "Google Sheets", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "clientId", Label: "Client ID", Kind: Text, Required: true},
		{Key: "clientSecret", Label: "Client secret", Kind: Text, Required: true, Secret: true},
		{Key: "scopes", Label: "Scopes", Kind: Text, Default: googleSheetsScope, Description: "space-separated OAuth2 scopes"},
	}},
	{Key: "microsoft365", Name: "Microsoft 365", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "tenantId", Label: "Tenant ID", Kind: Text, Required: true},
		{Key: "clientId", Label: "Client ID", Kind: Text, Required: true},
		{Key: "clientSecret", Label: "Client secret", Kind: Text, Required: true, Secret: true},
		{Key: "grantType", Label: "Grant type", Kind: Select, Default: "client_credentials", Options: []string{"authorization_code", "client_credentials"}},
		{Key: "scopes", Label: "Scopes", Kind: Text, Description: "space-separated OAuth2 scopes (default " + msGraphScope + " for client credentials)"},
	}},
	{Key: "whatsapp", Name: "WhatsApp Business", AuthKind: OAuth2, Editable: false, Testable: true, Fields: []FieldSpec{
		{Key: "phoneNumberId", Label: "Phone number ID", Kind: Text, Required: true},
		{Key: "businessAccountId", Label: "Business account ID", Kind: Text, Required: true},
		{Key: "accessToken", Label: "Access token", Kind: Text, Required: true, Secret: true},
	}},
	{Key: "stripe", Name: "Stripe", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "secretKey", Label: "Secret key", Kind: Text, Required: true, Secret: true,
			Prefixes: []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"}, Description: "starts with sk_live_, sk_test_, rk_live_ or rk_test_"},
		{Key: "publishableKey", Label: "Publishable key", Kind: Text},
	}},
	{Key: "openai", Name: "OpenAI", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "apiKey", Label: "API key", Kind: Text, Required: true, Secret: true},
		{Key: "organizationId", Label: "Organization ID", Kind: Text},
		{Key: "baseUrl", Label: "Base URL", Kind: URL, Description: "for compatible APIs and proxies"},
	}},
	{Key: "mailgun", Name: "Mailgun", AuthKind: APIKey, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "domain", Label: "Domain", Kind: Hostname, Required: true},
		{Key: "apiKey", Label: "API key", Kind: Text, Required: true, Secret: true},
		{Key: "senderAddress", Label: "Sender address", Kind: Email},
		{Key: "region", Label: "Region", Kind: Select, Default: "us", Options: []string{"us", "eu"}},
	}},
	{Key: "twilio", Name: "Twilio", AuthKind: BasicAuth, Editable: true, Testable: true, Fields: []FieldSpec{
		{Key: "accountSid", Label: "Account SID", Kind: Text, Required: true},
		{Key: "authToken", Label: "Auth token", Kind: Text, Required: true, Secret: true},
		{Key: "fromNumber", Label: "From number", Kind: Text},
	}},
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
	}},
	{Key: "custom", Name: "Custom", AuthKind: Custom, Editable: true, Testable: false},
}

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
