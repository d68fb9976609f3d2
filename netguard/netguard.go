// Package netguard makes the outbound connections credkeep opens on a user's
// behalf (connection tests, OAuth2 token exchanges) safe from SSRF: a user must
// not be able to point a credential at the cloud metadata service, the database,
// or anything else on the private network. The address is checked when the
// connection is made, after DNS resolution, so a name that resolves to a private
// address is refused, and so is every redirect, which is a new connection.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Timeouts of every outbound call.
const (
	DialTimeout    = 5 * time.Second
	RequestTimeout = 15 * time.Second
	maxRedirects   = 5
)

// ErrForbiddenTarget is returned for a connection to a refused address.
var ErrForbiddenTarget = errors.New("target address not allowed")

// blocked are the ranges a connection may not reach unless private targets are allowed.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// Allowed reports whether an address may be dialled when private targets are not allowed.
func Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Guard opens outbound connections.
type Guard struct {
	allowPrivate bool
	allowed      func(netip.Addr) bool
}

// New returns a Guard; allowPrivate (CREDKEEP_ALLOW_PRIVATE_TARGETS) lifts the
// address check, for tests and development.
func New(allowPrivate bool) *Guard { return &Guard{allowPrivate: allowPrivate, allowed: Allowed} }

// Dialer returns a dialer that refuses forbidden addresses at connect time.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{
		Timeout: DialTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			if g.allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenTarget, address)
			}
			if !g.allowed(ap.Addr()) {
				return fmt.Errorf("%w: %s is a loopback, link-local or private address", ErrForbiddenTarget, ap.Addr())
			}
			return nil
		},
	}
}

// DialContext dials through the guard.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return g.Dialer().DialContext(ctx, network, address)
}

// HTTPClient returns a client whose every connection, redirects included, goes
// through the guard, with timeouts on every step.
func (g *Guard) HTTPClient() *http.Client {
	tr := &http.Transport{
		DialContext:           g.DialContext,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: RequestTimeout,
		MaxIdleConns:          20,
		IdleConnTimeout:       30 * time.Second,
		// Never through a proxy from the environment: the guard must see the real target.
		Proxy: nil,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   RequestTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}
