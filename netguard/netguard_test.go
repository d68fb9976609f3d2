package netguard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestAddresses(t *testing.T) {
	for ip, ok := range map[string]bool{
		"127.0.0.1": false, "169.254.169.254": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fd00::1": false, "::ffff:127.0.0.1": false,
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "172.32.0.1": true,
	} {
		if Allowed(netip.MustParseAddr(ip)) != ok {
			t.Errorf("Allowed(%s) = %v", ip, !ok)
		}
	}
}

func TestGuardRefusesLoopbackAndMetadata(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	_, err := New(false).HTTPClient().Get(srv.URL)
	if !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("loopback: %v", err)
	}
	_, err = New(false).HTTPClient().Get("http://169.254.169.254/latest/meta-data/")
	if !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("metadata: %v", err)
	}
	// A name resolving to loopback is refused too (checked after DNS).
	_, err = New(false).HTTPClient().Get("http://localhost:1/")
	if !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("localhost: %v", err)
	}
	// Allowed: the loopback server answers; its redirect to the metadata address is
	// followed only when private targets are allowed (and then fails to connect).
	resp, err := New(true).HTTPClient().Get(srv.URL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("allowed: %v", err)
	}
	resp.Body.Close()
}

func TestRedirectsAreChecked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer srv.Close()
	// Offline there is no public first hop, so let this guard treat loopback as
	// public: the redirect to the metadata address must still be refused.
	g := New(false)
	g.allowed = func(ip netip.Addr) bool { return ip.IsLoopback() || Allowed(ip) }
	if _, err := g.HTTPClient().Get(srv.URL); !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("redirect to the metadata address: %v", err)
	}
	if _, err := g.HTTPClient().Get("http://[::ffff:169.254.169.254]/"); !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("mapped metadata address: %v", err)
	}
}
