package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const plain = "hunter2-very-secret"
	s := New(plain)
	k := NewBytes([]byte(plain))
	type wrapper struct {
		Password Secret
		Key      Bytes
	}
	w := wrapper{Password: s, Key: k}

	var outputs []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, k), fmt.Sprintf(verb, w), fmt.Sprintf(verb, &w))
	}
	js, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(js))

	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	logger.Info("login", "password", s, "key", k, "wrapped", w)
	textLogger := slog.New(slog.NewTextHandler(&logBuf, nil))
	textLogger.Info("login", "password", s, "key", k)
	outputs = append(outputs, logBuf.String())

	for _, out := range outputs {
		if strings.Contains(out, plain) || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("output leaks the secret: %s", out)
		}
		if !strings.Contains(out, placeholder) {
			t.Errorf("output lacks the placeholder: %s", out)
		}
	}
	if s.Reveal() != plain || string(k.Reveal()) != plain {
		t.Fatal("Reveal must return the plaintext")
	}
}
