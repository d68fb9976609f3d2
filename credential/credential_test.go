package credential

import (
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/provider"
)

func TestHint(t *testing.T) {
	cases := map[string]string{
		"":                       "",
		"elevenchars":            "",
		"twelve-chars":           "••••hars",
		"sk_test_51HxSECRETabcd": "••••abcd",
		"ümlaut-secret-ÄÖÜß":     "••••ÄÖÜß", // characters, not bytes
	}
	for in, want := range cases {
		got := Hint(redact.New(in))
		if (got == nil) != (want == "") || (got != nil && *got != want) {
			t.Errorf("Hint(%q) = %v, want %q", in, got, want)
		}
	}
}

func TestHostnames(t *testing.T) {
	for h, ok := range map[string]bool{
		"smtp.example.com": true, "localhost": true, "10.0.0.1": true, "::1": true, "a-b.c": true,
		"": false, "-a.com": false, "a-.com": false, "a..com": false, "bad_host": false,
		"300.1.1.1": false, "a.com.": false, "exa mple.com": false,
	} {
		if validHostname(h) != ok {
			t.Errorf("validHostname(%q) = %v", h, !ok)
		}
	}
}

func TestStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	cases := []struct {
		exp  *time.Time
		err  string
		want string
	}{
		{nil, "", StatusActive},
		{&future, "", StatusActive},
		{&past, "", StatusExpired},
		{&now, "", StatusExpired},
		{nil, "auth failed", StatusError},
		{&past, "auth failed", StatusExpired},
	}
	for _, c := range cases {
		got, msg := Status(c.exp, c.err, now)
		if got != c.want || (got != StatusActive) != (msg != nil) {
			t.Errorf("Status(%v, %q) = %s, %v; want %s", c.exp, c.err, got, msg, c.want)
		}
	}
}

func TestUpdateMergeReportsChangedKeysOnly(t *testing.T) {
	typ, _ := provider.Lookup("smtp")
	cur := Values{Plain: map[string]string{"host": "h", "port": "587", "username": "u"}, Secret: map[string]redact.Secret{"password": redact.New("old-password-123")}}
	v, changed, err := ValidateUpdate(typ, cur, []FieldInput{{Key: "password", Value: redact.New("new-password-456")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != "password" || v.Plain["host"] != "h" || v.Secret["password"].Reveal() != "new-password-456" {
		t.Fatalf("merge: %v %v", changed, v.Plain)
	}
	if cur.Secret["password"].Reveal() != "old-password-123" {
		t.Fatal("the current values were modified")
	}
}
