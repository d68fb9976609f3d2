package credential

import (
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"credkeep/internal/apierror"
	"credkeep/internal/redact"
	"credkeep/provider"
)

// Limits on what a caller may store.
const (
	MaxValueLen     = 16 << 10 // a PEM key or a long token fits
	MaxCustomFields = 50
)

// customKey is the shape of a custom field key.
var customKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// FieldInput is one field as the caller sent it. Value is a Secret from the
// start, so that no input value can be printed before it is known to be plain.
type FieldInput struct {
	Key   string
	Value redact.Secret
	// Secret marks a custom field secret; nil keeps the current marking (false for a new field).
	Secret *bool
}

// Values are a credential's field values, split into plain and secret.
type Values struct {
	Plain  map[string]string
	Secret map[string]redact.Secret
}

func emptyValues() Values {
	return Values{Plain: map[string]string{}, Secret: map[string]redact.Secret{}}
}

func fieldPath(key string) string { return "fields." + key }

// ValidateCreate checks the fields of a new credential and applies defaults.
func ValidateCreate(t *provider.Type, in []FieldInput) (Values, error) {
	v := emptyValues()
	if err := apply(t, &v, in); err != nil {
		return Values{}, err
	}
	for _, f := range t.Fields {
		if _, set := v.Plain[f.Key]; !set && f.Default != "" && !f.Secret {
			v.Plain[f.Key] = f.Default
		}
	}
	return v, checkRequired(t, v)
}

// ValidateUpdate merges changed fields into the current values: keys not sent
// keep their values; an empty value clears an optional field. It returns the
// merged values and the keys that changed (names only, never values).
func ValidateUpdate(t *provider.Type, current Values, in []FieldInput) (Values, []string, error) {
	v := Values{Plain: make(map[string]string, len(current.Plain)), Secret: make(map[string]redact.Secret, len(current.Secret))}
	for k, x := range current.Plain {
		v.Plain[k] = x
	}
	for k, x := range current.Secret {
		v.Secret[k] = x
	}
	if err := apply(t, &v, in); err != nil {
		return Values{}, nil, err
	}
	if err := checkRequired(t, v); err != nil {
		return Values{}, nil, err
	}
	return v, changedKeys(current, v), nil
}

// changedKeys lists the keys whose value differs between two sets of values
// (names only, sorted): a field sent with its current value is no change.
func changedKeys(before, after Values) []string {
	var changed []string
	for _, m := range []struct{ a, b map[string]string }{{before.Plain, after.Plain}, {after.Plain, before.Plain}} {
		for k, x := range m.a {
			if y, ok := m.b[k]; !ok || x != y {
				changed = append(changed, k)
			}
		}
	}
	for _, m := range []struct{ a, b map[string]redact.Secret }{{before.Secret, after.Secret}, {after.Secret, before.Secret}} {
		for k, x := range m.a {
			if y, ok := m.b[k]; !ok || x.Reveal() != y.Reveal() {
				changed = append(changed, k)
			}
		}
	}
	slices.Sort(changed)
	return slices.Compact(changed)
}

// ReasonSecretRequired is extensions.reason of a destination change without
// the secrets entered again.
const ReasonSecretRequired = "SECRET_REQUIRED_FOR_DESTINATION_CHANGE"

// checkDestination enforces the destination rule of SPEC.md §8 on an update:
// when a destination field changes, every secret that is set must be given a
// value in the same input. It returns the destination keys that changed.
func checkDestination(t *provider.Type, current Values, changed []string, in []FieldInput) ([]string, error) {
	var moved []string
	for _, k := range changed {
		if t.Destination(k) {
			moved = append(moved, k)
		}
	}
	if len(moved) == 0 {
		return nil, nil
	}
	given := make(map[string]bool, len(in))
	for _, f := range in {
		if f.Value.Reveal() != "" {
			given[strings.TrimSpace(f.Key)] = true
		}
	}
	// Only catalog types have destination fields (custom fields are all TEXT),
	// so the secrets to ask for are the type's, in catalog order.
	for _, f := range t.Fields {
		if _, set := current.Secret[f.Key]; set && !given[f.Key] {
			return nil, &apierror.Error{Code: apierror.BadUserInput, Field: fieldPath(f.Key),
				Message:    "changing " + strings.Join(moved, ", ") + " sends the secrets somewhere else: enter " + f.Label + " again in the same change",
				Extensions: map[string]any{"reason": ReasonSecretRequired}}
		}
	}
	return moved, nil
}

func apply(t *provider.Type, v *Values, in []FieldInput) error {
	seen := make(map[string]bool, len(in))
	for _, f := range in {
		key := strings.TrimSpace(f.Key)
		if key == "" {
			return apierror.Invalid("fields", "a field key must not be empty")
		}
		if seen[key] {
			return apierror.Invalid(fieldPath(key), "field %s is given twice", key)
		}
		seen[key] = true
		raw := f.Value.Reveal()
		if len(raw) > MaxValueLen {
			return apierror.Invalid(fieldPath(key), "value of %s is longer than %d bytes", key, MaxValueLen)
		}
		if strings.ContainsRune(raw, 0) || !utf8.ValidString(raw) {
			return apierror.Invalid(fieldPath(key), "value of %s is not valid text", key)
		}

		var spec provider.FieldSpec
		if t.IsCustom() {
			if !customKey.MatchString(key) {
				return apierror.Invalid(fieldPath(key), "field keys start with a letter and hold letters, digits, '_', '.' or '-' (at most 64)")
			}
			_, wasSecret := v.Secret[key]
			secret := wasSecret
			if f.Secret != nil {
				secret = *f.Secret
			}
			spec = provider.FieldSpec{Key: key, Kind: provider.Text, Secret: secret}
		} else {
			s, ok := t.Field(key)
			if !ok {
				return apierror.Invalid(fieldPath(key), "%s has no field %s", t.Name, key)
			}
			spec = s
		}

		delete(v.Plain, key)
		delete(v.Secret, key)
		if raw == "" {
			// Empty: the field is cleared (on create: left unset). Required fields are checked after.
			continue
		}
		if !spec.Secret {
			raw = strings.TrimSpace(raw)
		}
		if err := checkKind(spec, raw); err != nil {
			return err
		}
		if spec.Secret {
			v.Secret[key] = redact.New(raw)
		} else {
			v.Plain[key] = raw
		}
	}
	if t.IsCustom() && len(v.Plain)+len(v.Secret) > MaxCustomFields {
		return apierror.Invalid("fields", "a custom credential has at most %d fields", MaxCustomFields)
	}
	return nil
}

func checkRequired(t *provider.Type, v Values) error {
	for _, f := range t.Fields {
		if !f.Required {
			continue
		}
		_, plain := v.Plain[f.Key]
		_, secret := v.Secret[f.Key]
		if !plain && !secret {
			return apierror.Invalid(fieldPath(f.Key), "%s is required", f.Label)
		}
	}
	return nil
}

// checkKind validates a non-empty value against its field's kind. Messages name
// the field and the rule, never the value (it may be a secret).
func checkKind(f provider.FieldSpec, v string) error {
	bad := func(format string, args ...any) error {
		return apierror.Invalid(fieldPath(f.Key), format, args...)
	}
	if len(f.Prefixes) > 0 && !slices.ContainsFunc(f.Prefixes, func(p string) bool { return strings.HasPrefix(v, p) }) {
		return bad("%s must start with %s", f.Key, strings.Join(f.Prefixes, ", "))
	}
	switch f.Kind {
	case provider.Text:
	case provider.Number:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return bad("%s must be a number", f.Key)
		}
	case provider.Port:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 || strings.HasPrefix(v, "+") {
			return bad("%s must be a port number from 1 to 65535", f.Key)
		}
	case provider.Boolean:
		if v != "true" && v != "false" {
			return bad("%s must be true or false", f.Key)
		}
	case provider.Select:
		if !slices.Contains(f.Options, v) {
			return bad("%s must be one of %s", f.Key, strings.Join(f.Options, ", "))
		}
	case provider.Email:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || a.Name != "" {
			return bad("%s must be an e-mail address", f.Key)
		}
	case provider.URL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
			return bad("%s must be an absolute http(s) URL", f.Key)
		}
		if u.User != nil {
			return bad("%s must not hold a user or password; use the credential's secret fields", f.Key)
		}
	case provider.Hostname:
		if !validHostname(v) {
			return bad("%s must be a host name or an IP address", f.Key)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if len(l) < 1 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// A name of digits and dots only is a malformed IPv4 address, not a host name.
	return strings.Trim(h, "0123456789.") != ""
}
