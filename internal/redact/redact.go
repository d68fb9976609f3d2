// Package redact holds values that must never be printed: secrets, keys and tokens.
//
// A Secret prints as [REDACTED] through fmt (every verb), log/slog, encoding/json
// and encoding/text, so a careless log line or error message cannot leak it. The
// plaintext is reachable only through Reveal, which makes each use easy to audit.
package redact

import (
	"fmt"
	"log/slog"
)

const placeholder = "[REDACTED]"

// Secret is a string that redacts itself wherever it is printed or marshalled.
type Secret struct {
	v string
}

// New wraps s so that it cannot be printed by accident.
func New(s string) Secret { return Secret{v: s} }

// Reveal returns the plaintext. Call it only where the value is used, never to print it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return placeholder }

// GoString implements fmt.GoStringer, so %#v redacts too.
func (s Secret) GoString() string { return placeholder }

// Format implements fmt.Formatter, so that every verb (%s, %v, %q, %x, %d) redacts.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(placeholder)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(placeholder) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + placeholder + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(placeholder), nil }

// Bytes is a byte slice (a key) that redacts itself like Secret does.
type Bytes struct {
	b []byte
}

// NewBytes wraps b so that it cannot be printed by accident.
func NewBytes(b []byte) Bytes { return Bytes{b: b} }

// Reveal returns the key material. Do not keep or print it.
func (b Bytes) Reveal() []byte { return b.b }

// Len returns the length of the key material.
func (b Bytes) Len() int { return len(b.b) }

// String implements fmt.Stringer.
func (b Bytes) String() string { return placeholder }

// GoString implements fmt.GoStringer.
func (b Bytes) GoString() string { return placeholder }

// Format implements fmt.Formatter.
func (b Bytes) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(placeholder)) }

// LogValue implements slog.LogValuer.
func (b Bytes) LogValue() slog.Value { return slog.StringValue(placeholder) }

// MarshalJSON implements json.Marshaler.
func (b Bytes) MarshalJSON() ([]byte, error) { return []byte(`"` + placeholder + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (b Bytes) MarshalText() ([]byte, error) { return []byte(placeholder), nil }
