package credential

import (
	"slices"
	"time"
	"unicode/utf8"

	"credkeep/internal/redact"
	"credkeep/provider"
)

// hintMinLen is the shortest secret whose last characters may be shown: for a
// shorter one, four characters would give away too much of it.
const hintMinLen = 12

// FieldView is a field as a person sees it: a secret's value is never present.
type FieldView struct {
	Key    string
	Label  string
	Secret bool
	Value  *string // nil for secrets and unset fields
	IsSet  bool
	Hint   *string // "••••" + last 4 characters, for secrets of 12 characters or more
}

// Mask returns the fields of a credential for display, in catalog order (custom
// credentials: by key).
func Mask(t *provider.Type, v Values) []FieldView {
	hints := make(map[string]*string, len(v.Secret))
	for k, sec := range v.Secret {
		hints[k] = Hint(sec)
	}
	return maskHints(t, v.Plain, hints)
}

// maskHints is Mask from the hints of the set secrets (key → hint, nil when too
// short to hint), which is all a person's view of a secret needs.
func maskHints(t *provider.Type, plain map[string]string, hints map[string]*string) []FieldView {
	var out []FieldView
	if t.IsCustom() {
		keys := make([]string, 0, len(plain)+len(hints))
		for k := range plain {
			keys = append(keys, k)
		}
		for k := range hints {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			_, secret := hints[k]
			out = append(out, view(provider.FieldSpec{Key: k, Label: k, Secret: secret}, plain, hints))
		}
		return out
	}
	for _, f := range t.Fields {
		out = append(out, view(f, plain, hints))
	}
	return out
}

func view(f provider.FieldSpec, plain map[string]string, hints map[string]*string) FieldView {
	fv := FieldView{Key: f.Key, Label: f.Label, Secret: f.Secret}
	if f.Secret {
		h, ok := hints[f.Key]
		fv.IsSet, fv.Hint = ok, h
		return fv
	}
	if p, ok := plain[f.Key]; ok {
		fv.IsSet = true
		fv.Value = &p
	}
	return fv
}

// Hint returns "••••" and the last four characters of a secret of at least 12
// characters, else nil.
func Hint(s redact.Secret) *string {
	plain := s.Reveal()
	n := utf8.RuneCountInString(plain)
	if n < hintMinLen {
		return nil
	}
	r := []rune(plain)
	h := "••••" + string(r[n-4:])
	return &h
}

// Status values.
const (
	StatusActive  = "ACTIVE"
	StatusExpired = "EXPIRED"
	StatusError   = "ERROR"
)

// Status returns a credential's status and its message: EXPIRED once expiresAt
// has passed, ERROR when the last test or refresh failed, else ACTIVE.
func Status(expiresAt *time.Time, lastError string, now time.Time) (string, *string) {
	if expiresAt != nil && !expiresAt.After(now) {
		msg := "expired at " + expiresAt.UTC().Format(time.RFC3339)
		return StatusExpired, &msg
	}
	if lastError != "" {
		return StatusError, &lastError
	}
	return StatusActive, nil
}
