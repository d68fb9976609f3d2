package provider

import (
	"net/http"
	"testing"
)

// Every entry is consistent: testable exactly when it has a check, OAuth2
// exactly when it has an OAuth description, and every HTTP check sets
// credentials from a secret field the type has.
func TestCatalogIsConsistent(t *testing.T) {
	for _, ty := range Types() {
		t.Run(ty.Key, func(t *testing.T) {
			if ty.Testable != (ty.Check != nil) {
				t.Errorf("testable %v, check %v", ty.Testable, ty.Check != nil)
			}
			if (ty.AuthKind == OAuth2) != (ty.OAuth != nil) {
				t.Errorf("auth kind %s, OAuth %v", ty.AuthKind, ty.OAuth != nil)
			}
			if ty.Check == nil || ty.Check.HTTP == nil {
				return
			}
			fields := map[string]string{}
			for _, f := range ty.Fields {
				if f.Key != ty.Check.HTTP.BaseField {
					fields[f.Key] = "v-" + f.Key
				}
			}
			var asked []string
			r, _ := http.NewRequest(http.MethodGet, ty.Check.HTTP.URL(fields, func(_, def string) string { return def }), nil)
			ty.Check.HTTP.Auth(r, fields, func(k string) string { asked = append(asked, k); return "secret" })
			if len(asked) == 0 {
				t.Fatal("the check sends no secret")
			}
			for _, k := range asked {
				if f, ok := ty.Field(k); !ok || !f.Secret {
					t.Errorf("the check asks for %q, not a secret field of %s", k, ty.Key)
				}
			}
			if r.URL.Scheme != "https" {
				t.Errorf("default check URL %s is not https", r.URL)
			}
		})
	}
}

// The operator's base URL and a credential's own base URL field win, in that order.
func TestHTTPCheckURL(t *testing.T) {
	openai, _ := Lookup("openai")
	override := func(key, def string) string {
		if key == "openai" {
			return "http://mock.local"
		}
		return def
	}
	if got := openai.Check.HTTP.URL(map[string]string{}, override); got != "http://mock.local/v1/models" {
		t.Errorf("with an override: %s", got)
	}
	if got := openai.Check.HTTP.URL(map[string]string{"baseUrl": "https://proxy.example/"}, override); got != "https://proxy.example/v1/models" {
		t.Errorf("with baseUrl: %s", got)
	}
	mailgun, _ := Lookup("mailgun")
	if got := mailgun.Check.HTTP.URL(map[string]string{"region": "eu", "domain": "a b.example"}, func(_, def string) string { return def }); got != "https://api.eu.mailgun.net/v3/domains/a%20b.example" {
		t.Errorf("mailgun eu: %s", got)
	}
}
