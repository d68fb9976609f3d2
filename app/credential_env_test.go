package app_test

const credentialFragment = `fragment C on Credential {
  id name version viewerAccess sharing status statusMessage useCount expiresAt createdAt updatedAt
  type { key editable }
  owner { id email }
  workspace { id name viewerRole }
}`

type credentialJSON struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Version       int     `json:"version"`
	ViewerAccess  string  `json:"viewerAccess"`
	Sharing       string  `json:"sharing"`
	Status        string  `json:"status"`
	StatusMessage *string `json:"statusMessage"`
	ExpiresAt     *string `json:"expiresAt"`
	Type          struct {
		Key      string `json:"key"`
		Editable bool   `json:"editable"`
	} `json:"type"`
	Owner struct {
		ID string `json:"id"`
	} `json:"owner"`
	Workspace struct {
		ID         string `json:"id"`
		ViewerRole string `json:"viewerRole"`
	} `json:"workspace"`
	Fields []fieldJSON `json:"fields"`
	Grants []grantJSON `json:"grants"`
}

type fieldJSON struct {
	Key    string  `json:"key"`
	Secret bool    `json:"secret"`
	Value  *string `json:"value"`
	IsSet  bool    `json:"isSet"`
	Hint   *string `json:"hint"`
}

type grantJSON struct {
	ID          string `json:"id"`
	GranteeKind string `json:"granteeKind"`
	User        *struct {
		ID string `json:"id"`
	} `json:"user"`
	Level     string `json:"level"`
	GrantedBy struct {
		ID string `json:"id"`
	} `json:"grantedBy"`
}

const createCredential = `mutation($in: CreateCredentialInput!) { createCredential(input: $in) { ...C } }` + "\n" + credentialFragment

type field = map[string]any

// createCredential creates a credential and returns its id.
func (e *env) createCredential(token, ws, typ, name string, fields ...field) string {
	e.t.Helper()
	if fields == nil {
		fields = []field{}
	}
	var c credentialJSON
	mustOK(e.t, e.gql(token, createCredential, map[string]any{"in": map[string]any{
		"workspaceId": ws, "type": typ, "name": name, "fields": fields,
	}})).field(e.t, "createCredential", &c)
	return c.ID
}

// secrets are the secret values the tests store; no response may contain one.
var secrets = []string{
	"hunter2-smtp-password-4242",
	"sk_test_51HxSECRETSECRETSECRETabcd",
	"custom-secret-value-9876",
	"short-pw",
	"rotated-smtp-password-1357",
}

func smtpFields(password string) []field {
	return []field{
		{"key": "host", "value": "smtp.example.com"},
		{"key": "username", "value": "mailer"},
		{"key": "password", "value": password},
	}
}
