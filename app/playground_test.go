package app_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestPlaygroundIsSelfHosted(t *testing.T) {
	e := newEnv(t)
	page := get(t, e.srv.URL+"/playground")
	csp := page.Header.Get("Content-Security-Policy")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `<script src="/playground/app.js">`) ||
		!strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("page %d, CSP %q", page.Status, csp)
	}
	if strings.Contains(page.Body, "http://") || strings.Contains(page.Body, "https://") || strings.Contains(page.Body, "<script>") {
		t.Errorf("the page loads something from elsewhere or runs inline script: %s", page.Body)
	}
	for _, asset := range []string{"/playground/app.js", "/playground/app.css"} {
		r := get(t, e.srv.URL+asset)
		if r.Status != http.StatusOK || len(r.Body) < 10_000 || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d, %d bytes", asset, r.Status, len(r.Body))
		}
	}
	if r := get(t, e.srv.URL+"/playground/../server.go"); r.Status == http.StatusOK {
		t.Error("the playground serves other files")
	}
}
