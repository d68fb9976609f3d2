package logging_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"credkeep/internal/logging"
)

// TestAtLeastKeepsAttributesAndGroups: a record at or above the level carries
// what the library added with With and WithGroup, in order, and each derived
// logger only its own; below the level nothing is written.
func TestAtLeastKeepsAttributesAndGroups(t *testing.T) {
	var buf bytes.Buffer
	l := logging.AtLeast(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), slog.LevelError)
	base := l.With("component", "db")
	a := base.With("stmt", "a").WithGroup("g").With("k", 1)
	b := base.With("stmt", "b")
	a.Info("dropped")
	b.Warn("dropped")
	if buf.Len() != 0 {
		t.Fatalf("records below the level were written: %s", buf.String())
	}
	a.Error("failed", "x", 2)
	b.Error("failed too")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got %q", buf.String())
	}
	if !strings.Contains(lines[0], `"component":"db","stmt":"a","g":{"k":1,"x":2}`) {
		t.Errorf("first record: %s", lines[0])
	}
	if !strings.HasSuffix(lines[1], `"msg":"failed too","component":"db","stmt":"b"}`) {
		t.Errorf("second record: %s", lines[1])
	}
}
