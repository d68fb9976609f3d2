package audit

import (
	"strings"
	"unicode/utf8"

	"credkeep/storage"
)

// Bounds on what an entry keeps of each string, in bytes.
const (
	maxUserAgent   = 256
	maxEntryString = 512
	maxDetailValue = 1024
)

// text makes s safe to hash and store: invalid UTF-8 bytes become U+FFFD and
// the result is cut to at most max bytes on a character boundary. The hash is
// computed over JSON (which would replace invalid bytes itself) while the
// database stores the raw string; without this a client could send an entry
// whose stored form no longer hashes to what was chained (SPEC.md §8).
func text(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// cleanEntry applies text to every string of an entry before it is chained.
func cleanEntry(doc *storage.AuditEntry) {
	for _, f := range []*string{&doc.Log, &doc.Action, &doc.Outcome, &doc.ActorKind, &doc.ActorUserID, &doc.ActorTokenID,
		&doc.ActorTokenName, &doc.TargetType, &doc.TargetID, &doc.TargetName, &doc.IP} {
		*f = text(*f, maxEntryString)
	}
	doc.UserAgent = text(doc.UserAgent, maxUserAgent)
	for i := range doc.Details {
		doc.Details[i].Key = text(doc.Details[i].Key, maxEntryString)
		doc.Details[i].Value = text(doc.Details[i].Value, maxDetailValue)
	}
}
