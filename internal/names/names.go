// Package names holds the input rules shared by several kinds of object:
// names (SPEC.md §4, §8).
package names

import (
	"fmt"
	"strings"
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
func Text(field, s string, max int, required bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid(field, apierror.ReasonForbiddenCharacters, nil, "%s is not valid UTF-8 text", field)
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	if s == "" && required {
		return "", invalid(field, apierror.ReasonRequired, nil, "%s must not be empty", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, apierror.ReasonTooLong, map[string]any{"max": max}, "%s must be at most %d characters", field, max)
	}
	if i := strings.IndexFunc(s, Forbidden); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return "", invalid(field, apierror.ReasonForbiddenCharacters, map[string]any{"codePoint": codePoint(r)},
			"%s must not contain control, bidirectional or invisible characters (found %s)", field, codePoint(r))
	}
	return s, nil
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
