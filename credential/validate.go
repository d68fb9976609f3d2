package credential

import (
	"fmt"
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
// Every field at fault has its own error (apierror.Join).
func ValidateCreate(t *provider.Type, in []FieldInput) (Values, error) {
	v := emptyValues()
	errs := apply(t, &v, in)
	for _, f := range t.Fields {
		if _, set := v.Plain[f.Key]; !set && f.Default != "" && !f.Secret {
			v.Plain[f.Key] = f.Default
		}
	}
	errs = append(errs, checkRequired(t, v, errs)...)
	if len(errs) > 0 {
		return Values{}, apierror.Join(errs)
	}
	return v, nil
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
	errs := apply(t, &v, in)
	errs = append(errs, checkRequired(t, v, errs)...)
	if len(errs) > 0 {
		return Values{}, nil, apierror.Join(errs)
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
			return nil, apierror.InvalidBecause(fieldPath(f.Key), apierror.ReasonSecretRequired, map[string]any{"changed": moved},
				"changing %s sends the secrets somewhere else: enter %s again in the same change", strings.Join(moved, ", "), f.Label)
		}
	}
	return moved, nil
}

// apply merges in into v, field by field; a field at fault is left as it
// was and has its one error in the result (the first problem found with it).
func apply(t *provider.Type, v *Values, in []FieldInput) []*apierror.Error {
	var errs []*apierror.Error
	seen := make(map[string]bool, len(in))
	for i, f := range in {
		key := strings.TrimSpace(f.Key)
		if key == "" {
			errs = append(errs, apierror.InvalidBecause(fmt.Sprintf("fields.%d", i), apierror.ReasonRequired, nil, "a field key must not be empty"))
			continue
		}
		if seen[key] {
			errs = append(errs, apierror.InvalidBecause(fieldPath(key), apierror.ReasonDuplicate, nil, "%s is given twice", key))
			continue
		}
		seen[key] = true
		spec, err := fieldSpec(t, v, key, f.Secret)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		raw := f.Value.Reveal()
		if len(raw) > MaxValueLen {
			errs = append(errs, apierror.InvalidBecause(fieldPath(key), apierror.ReasonTooLong, map[string]any{"maxBytes": MaxValueLen},
				"%s is longer than %d bytes", spec.Label, MaxValueLen))
			continue
		}
		if strings.ContainsRune(raw, 0) || !utf8.ValidString(raw) {
			errs = append(errs, apierror.InvalidBecause(fieldPath(key), apierror.ReasonForbiddenCharacters, nil, "%s is not valid text", spec.Label))
			continue
		}
		if !spec.Secret {
			raw = strings.TrimSpace(raw)
		}
		if raw != "" {
			if err := checkKind(spec, raw); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		delete(v.Plain, key)
		delete(v.Secret, key)
		switch {
		case raw == "":
			// Empty: the field is cleared (on create: left unset). Required fields are checked after.
		case spec.Secret:
			v.Secret[key] = redact.New(raw)
		default:
			v.Plain[key] = raw
		}
	}
	if t.IsCustom() && len(v.Plain)+len(v.Secret) > MaxCustomFields {
		errs = append(errs, apierror.InvalidBecause("fields", apierror.ReasonOutOfRange, map[string]any{"max": MaxCustomFields},
			"a custom credential has at most %d fields", MaxCustomFields))
	}
	return errs
}

// fieldSpec is the spec of field key of t; for a custom credential, a text
// field whose secrecy is what the input says, else what it was.
func fieldSpec(t *provider.Type, v *Values, key string, secret *bool) (provider.FieldSpec, *apierror.Error) {
	if !t.IsCustom() {
		s, ok := t.Field(key)
		if !ok {
			return provider.FieldSpec{}, apierror.InvalidBecause(fieldPath(key), apierror.ReasonUnknownField, nil, "%s has no field %s", t.Name, key)
		}
		return s, nil
	}
	if !customKey.MatchString(key) {
		return provider.FieldSpec{}, apierror.InvalidBecause(fieldPath(key), apierror.ReasonInvalidFormat, map[string]any{"pattern": customKey.String()},
			"field keys start with a letter and hold letters, digits, '_', '.' or '-' (at most 64)")
	}
	_, isSecret := v.Secret[key]
	if secret != nil {
		isSecret = *secret
	}
	return provider.FieldSpec{Key: key, Label: key, Kind: provider.Text, Secret: isSecret}, nil
}

// checkRequired returns an error for each required field without a value,
// except those already at fault in errs.
func checkRequired(t *provider.Type, v Values, errs []*apierror.Error) []*apierror.Error {
	var out []*apierror.Error
	for _, f := range t.Fields {
		if !f.Required || slices.ContainsFunc(errs, func(e *apierror.Error) bool { return e.Field == fieldPath(f.Key) }) {
			continue
		}
		_, plain := v.Plain[f.Key]
		_, secret := v.Secret[f.Key]
		if !plain && !secret {
			out = append(out, apierror.InvalidBecause(fieldPath(f.Key), apierror.ReasonRequired, nil, "%s is required", f.Label))
		}
	}
	return out
}

// checkKind validates a non-empty value against its field's kind. Messages name
// the field by its label and say the rule, never the value (it may be a secret).
func checkKind(f provider.FieldSpec, v string) *apierror.Error {
	bad := func(reason string, params map[string]any, format string, args ...any) *apierror.Error {
		return apierror.InvalidBecause(fieldPath(f.Key), reason, params, format, args...)
	}
	label := f.Label
	if label == "" {
		label = f.Key
	}
	if len(f.Prefixes) > 0 && !slices.ContainsFunc(f.Prefixes, func(p string) bool { return strings.HasPrefix(v, p) }) {
		return bad(apierror.ReasonInvalidFormat, map[string]any{"prefixes": f.Prefixes}, "%s must start with %s", label, strings.Join(f.Prefixes, ", "))
	}
	switch f.Kind {
	case provider.Text:
	case provider.Number:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return bad(apierror.ReasonInvalidFormat, map[string]any{"kind": "NUMBER"}, "%s must be a number", label)
		}
	case provider.Port:
		n, err := strconv.Atoi(v)
		if err != nil || strings.HasPrefix(v, "+") {
			return bad(apierror.ReasonInvalidFormat, map[string]any{"kind": "PORT"}, "%s must be a port number from 1 to 65535", label)
		}
		if n < 1 || n > 65535 {
			return bad(apierror.ReasonOutOfRange, map[string]any{"min": 1, "max": 65535}, "%s must be a port number from 1 to 65535", label)
		}
	case provider.Boolean:
		if v != "true" && v != "false" {
			return bad(apierror.ReasonNotAnOption, map[string]any{"options": []string{"true", "false"}}, "%s must be true or false", label)
		}
	case provider.Select:
		if !slices.Contains(f.Options, v) {
			return bad(apierror.ReasonNotAnOption, map[string]any{"options": f.Options}, "%s must be one of %s", label, strings.Join(f.Options, ", "))
		}
	case provider.Email:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || a.Name != "" {
			return bad(apierror.ReasonInvalidFormat, map[string]any{"kind": "EMAIL"}, "%s must be an e-mail address", label)
		}
	case provider.URL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
			return bad(apierror.ReasonInvalidFormat, map[string]any{"kind": "URL"}, "%s must be an absolute http(s) URL", label)
		}
		if u.User != nil {
			return bad(apierror.ReasonInvalidValue, nil, "%s must not hold a user or password; use the credential's secret fields", label)
		}
	case provider.Hostname:
		if !validHostname(v) {
			return bad(apierror.ReasonInvalidFormat, map[string]any{"kind": "HOSTNAME"}, "%s must be a host name or an IP address", label)
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
