package credential

import (
	"errors"
	"testing"

	"credkeep/internal/apierror"
	"credkeep/internal/redact"
	"credkeep/provider"
)

// FuzzValidate: any key and value for any type ends in values or a
// BAD_USER_INPUT naming a field, never a panic; accepted values pass their kind.
func FuzzValidate(f *testing.F) {
	for _, s := range []struct{ typ, key, value string }{
		{"smtp", "port", "587"}, {"smtp", "host", "smtp.example.com"}, {"smtp", "fromAddress", "a@b.c"},
		{"openai", "baseUrl", "https://x.example/v1"}, {"stripe", "secretKey", "sk_test_1"}, {"custom", "k.x-y_z", "v"},
		{"mailgun", "domain", "999.1.1.1"}, {"smtp", "security", "ssl"}, {"custom", "1bad", "\x00"},
	} {
		f.Add(s.typ, s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, typ, key, value string) {
		ty, ok := provider.Lookup(typ)
		if !ok {
			return
		}
		v, err := ValidateCreate(ty, []FieldInput{{Key: key, Value: redact.New(value)}})
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.BadUserInput || ae.Field == "" {
				t.Fatalf("not a BAD_USER_INPUT with a field: %v", err)
			}
			return
		}
		if spec, ok := ty.Field(key); ok && !spec.Secret {
			if p, set := v.Plain[key]; set {
				if err := checkKind(spec, p); err != nil {
					t.Fatalf("accepted %q for %s.%s but it fails its kind: %v", p, typ, key, err)
				}
			}
		}
	})
}

// FuzzCursor: any after-cursor decodes or is refused, never panics.
func FuzzCursor(f *testing.F) {
	f.Add(cursor{order: Order{Field: OrderName}, value: "name", id: "id"}.encode())
	f.Add("")
	f.Add("not-base64!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor("after", s, Order{Field: OrderName})
		if err == nil && c.id == "" {
			t.Fatalf("accepted cursor %q as %+v", s, c)
		}
	})
}
