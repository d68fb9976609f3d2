// Package names holds the input rules shared by several kinds of object:
// names (SPEC.md §4, §8).
package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"credkeep/internal/apierror"
)

// MaxNameLen is the longest name of a workspace or credential, in characters.
const MaxNameLen = 100

// Name trims and NFC-normalizes a name and checks that it has 1 to MaxNameLen
// characters and no forbidden character; errors are BAD_USER_INPUT on the
// input field "name".
func Name(name string) (string, error) {
	return Text("name", name, MaxNameLen, true)
}

// Text applies the name rules to any name-like input field: NFC, trimmed, at
// most max characters (and at least one when required), no forbidden character.
// Messages name the field by its label ("Name", "Consumer id"), as a form would.
func Text(field, s string, max int, required bool) (string, error) {
	label := Label(field)
	if !utf8.ValidString(s) {
		return "", invalid(field, apierror.ReasonForbiddenCharacters, nil, "%s is not valid UTF-8 text", label)
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	if s == "" && required {
		return "", invalid(field, apierror.ReasonRequired, nil, "%s must not be empty", label)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, apierror.ReasonTooLong, map[string]any{"max": max}, "%s must be at most %d characters", label, max)
	}
	if i := strings.IndexFunc(s, Forbidden); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return "", invalid(field, apierror.ReasonForbiddenCharacters, map[string]any{"codePoint": codePoint(r)},
			"%s must not contain control, bidirectional or invisible characters (found %s)", label, codePoint(r))
	}
	return s, nil
}

// Label is how a message names an input field: its path's words, the first
// capitalised ("consumer.id" → "Consumer id", "expiresAt" → "Expires at").
func Label(field string) string {
	var b strings.Builder
	for i, r := range field {
		switch {
		case r == '.' || r == '_':
			b.WriteByte(' ')
		case unicode.IsUpper(r) && i > 0:
			b.WriteByte(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "" {
		return out
	}
	r, n := utf8.DecodeRuneInString(out)
	return string(unicode.ToUpper(r)) + out[n:]
}

// Forbidden reports whether r may not appear in a name: C0 and C1 controls,
// bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069), and zero-width characters (U+200B–U+200D, U+2060, U+FEFF).
// They make one name look like another, or reorder what a person reads.
func Forbidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
		return true
	}
	return false
}

// FoldKey is the key under which names are unique: NFKC, then case folding,
// so that "Ｐｒｏｄ ＳＭＴＰ" and "prod smtp" are one name.
func FoldKey(name string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(name)))
}

func codePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

func invalid(field, reason string, params map[string]any, format string, args ...any) error {
	return apierror.InvalidBecause(field, reason, params, format, args...)
}
