package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAddresses(t *testing.T) {
	refused := []struct{ name, addr string }{
		{"unspecified v4", "0.0.0.0"},
		{"this network", "0.1.2.3"},
		{"private 10/8", "10.1.2.3"},
		{"CGNAT", "100.64.0.1"},
		{"CGNAT top", "100.127.255.254"},
		{"loopback", "127.0.0.1"},
		{"loopback other", "127.8.9.10"},
		{"link-local metadata", "169.254.169.254"},
		{"private 172.16/12", "172.16.0.1"},
		{"private 172.31", "172.31.255.255"},
		{"IETF assignments", "192.0.0.8"},
		{"documentation 1", "192.0.2.1"},
		{"6to4 relay anycast", "192.88.99.1"},
		{"private 192.168/16", "192.168.1.1"},
		{"benchmark", "198.18.0.1"},
		{"benchmark top", "198.19.255.255"},
		{"documentation 2", "198.51.100.7"},
		{"documentation 3", "203.0.113.9"},
		{"multicast v4", "224.0.0.251"},
		{"reserved", "240.0.0.1"},
		{"broadcast", "255.255.255.255"},
		{"unspecified v6", "::"},
		{"loopback v6", "::1"},
		{"IPv4-compatible loopback", "::127.0.0.1"},
		{"IPv4-compatible public", "::8.8.8.8"},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1"},
		{"IPv4-mapped metadata", "::ffff:169.254.169.254"},
		{"IPv4-mapped private", "::ffff:10.0.0.1"},
		{"NAT64 loopback", "64:ff9b::127.0.0.1"},
		{"NAT64 public", "64:ff9b::8.8.8.8"},
		{"NAT64 local-use", "64:ff9b:1::a00:1"},
		{"discard-only", "100::1"},
		{"Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"},
		{"benchmark v6", "2001:2::1"},
		{"ORCHID", "2001:10::1"},
		{"ORCHIDv2", "2001:20::1"},
		{"documentation v6", "2001:db8::1"},
		{"6to4 of loopback", "2002:7f00:1::1"},
		{"6to4 of public", "2002:808:808::1"},
		{"documentation 3fff", "3fff::1"},
		{"SRv6", "5f00::1"},
		{"unique-local", "fd00::1"},
		{"unique-local fc", "fc00::1"},
		{"link-local v6", "fe80::1"},
		{"site-local", "fec0::1"},
		{"multicast v6", "ff02::1"},
		{"zoned loopback", "::1%lo"},
		{"zoned link-local", "fe80::1%eth0"},
		{"zoned public", "2606:4700:4700::1111%eth0"},
		{"zoned numeric", "2606:4700:4700::1111%1"},
	}
	for _, c := range refused {
		t.Run("refused/"+c.name, func(t *testing.T) {
			if Allowed(netip.MustParseAddr(c.addr)) {
				t.Errorf("Allowed(%s) = true, want false", c.addr)
			}
			if AllowedString("[" + c.addr + "]:443") {
				t.Errorf("AllowedString([%s]:443) = true, want false", c.addr)
			}
		})
	}
	for _, addr := range []string{"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.0.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8"} {
		t.Run("allowed/"+addr, func(t *testing.T) {
			if !Allowed(netip.MustParseAddr(addr)) {
				t.Errorf("Allowed(%s) = false, want true", addr)
			}
		})
	}
	for _, s := range []string{"", "localhost", "example.com:80", "[::1%25lo]:80", "1.2.3", "[]:80"} {
		if AllowedString(s) {
			t.Errorf("AllowedString(%q) = true, want false", s)
		}
	}
}

// The dialer sees every form an attacker may write, after resolution: real
// listeners on loopback must not get a connection through the guard.
func TestGuardRefusesEveryLoopbackForm(t *testing.T) {
	var hits atomic.Int32
	srv4 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv4.Close()
	l6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback on this machine: " + err.Error())
	}
	srv6 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv6.Listener.Close()
	srv6.Listener = l6
	srv6.Start()
	defer srv6.Close()
	port4 := srv4.Listener.Addr().(*net.TCPAddr).Port
	port6 := l6.Addr().(*net.TCPAddr).Port
	urls := []string{
		srv4.URL,
		fmt.Sprintf("http://localhost:%d/", port4),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port4),
		fmt.Sprintf("http://[::1]:%d/", port6),
		fmt.Sprintf("http://[::1%%25lo]:%d/", port6),
		fmt.Sprintf("http://[::1%%251]:%d/", port6),
		fmt.Sprintf("http://[0:0:0:0:0:0:0:1]:%d/", port6),
		fmt.Sprintf("http://2130706433:%d/", port4),
		fmt.Sprintf("http://0x7f.1:%d/", port4),
	}
	for _, u := range urls {
		resp, err := New(false).HTTPClient().Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s went through", u)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("loopback listeners received %d requests through the guard", n)
	}
}

// FuzzAllowedString: any text the dialer could be given is either refused or
// parses to a global unicast address with no zone, outside every blocked range.
func FuzzAllowedString(f *testing.F) {
	for _, s := range []string{"[::1%lo]:80", "127.0.0.1:1", "[::ffff:7f00:1]:1", "[64:ff9b::7f00:1]:1", "8.8.8.8:53", "[2002:7f00:1::1]:8", "[fe80::1%25eth0]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !AllowedString(s) {
			return
		}
		ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
		if ap, perr := netip.ParseAddrPort(s); perr == nil {
			ip, err = ap.Addr(), nil
		}
		if err != nil {
			t.Fatalf("%q allowed but does not parse", s)
		}
		if ip.Zone() != "" || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() || ip.Unmap().IsLoopback() || ip.Unmap().IsPrivate() {
			t.Fatalf("%q allowed: %v", s, ip)
		}
		for _, p := range blocked {
			if p.Contains(ip.Unmap()) {
				t.Fatalf("%q allowed inside %v", s, p)
			}
		}
	})
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
