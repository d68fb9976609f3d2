package names

import (
	"testing"
	"unicode/utf8"
)

func TestForbiddenRanges(t *testing.T) {
	for _, r := range []rune{0, 0x1f, 0x7f, 0x80, 0x9f, 0x202a, 0x202e, 0x2066, 0x2069, 0x200b, 0x200d, 0x2060, 0xfeff} {
		if !Forbidden(r) {
			t.Errorf("U+%04X allowed", r)
		}
	}
	for _, r := range []rune{' ', 'a', 0xa0, 0xe9, 0x2029 - 1, 0x2070, 0x1f680, 0x200e} {
		if Forbidden(r) {
			t.Errorf("U+%04X refused", r)
		}
	}
}

func TestFoldKey(t *testing.T) {
	if FoldKey("Ｐｒｏｄ ＳＭＴＰ") != FoldKey("prod smtp") || FoldKey("Straße") != FoldKey("STRASSE") {
		t.Error("look-alikes fold apart")
	}
	if FoldKey("prod") == FoldKey("prod2") {
		t.Error("different names fold together")
	}
}

// FuzzText: whatever comes in, what is accepted is NFC-stable, bounded and clean.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Prod SMTP", "a\u202eb", "Cafe\u0301", "\xff", " x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Text("name", s, MaxNameLen, true)
		if err != nil {
			return
		}
		if out == "" || !utf8.ValidString(out) || utf8.RuneCountInString(out) > MaxNameLen {
			t.Fatalf("accepted %q as %q", s, out)
		}
		for _, r := range out {
			if Forbidden(r) {
				t.Fatalf("accepted %q with U+%04X", s, r)
			}
		}
		if again, err := Text("name", out, MaxNameLen, true); err != nil || again != out {
			t.Fatalf("not stable: %q -> %q -> %q (%v)", s, out, again, err)
		}
	})
}

func TestLabel(t *testing.T) {
	for field, want := range map[string]string{
		"name": "Name", "consumer.id": "Consumer id", "expiresAt": "Expires at", "fields.api_key": "Fields api key", "": "",
	} {
		if got := Label(field); got != want {
			t.Errorf("Label(%q) = %q, want %q", field, got, want)
		}
	}
}
