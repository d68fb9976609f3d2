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
	"net"
	"net/http"
	"net/netip"
	"strings"
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

// blocked are the ranges a connection may not reach unless private targets are
// allowed (SPEC.md §8): everything that is not a globally routed unicast address
// of somebody else's, and every IPv6 form that carries or translates to an IPv4
// address (the embedded address is what a relay or translator would reach).
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		// IPv4
		"0.0.0.0/8",       // "this network", unspecified
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
		// IPv6
		"::/96",         // unspecified, loopback and IPv4-compatible (deprecated) forms
		"::ffff:0:0/96", // IPv4-mapped: refused whole (Unmap decides first, below)
		"64:ff9b::/96",  // NAT64
		"64:ff9b:1::/48",
		"100::/64",      // discard-only
		"2001::/32",     // Teredo
		"2001:2::/48",   // benchmarking
		"2001:10::/28",  // ORCHID
		"2001:20::/28",  // ORCHIDv2
		"2001:db8::/32", // documentation
		"2002::/16",     // 6to4
		"3fff::/20",     // documentation
		"5f00::/16",     // segment routing SIDs
		"fc00::/7",      // unique-local
		"fe80::/10",     // link-local
		"fec0::/10",     // site-local (deprecated)
		"ff00::/8",      // multicast
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// Allowed reports whether an address may be dialled when private targets are
// not allowed. An address with an IPv6 zone is always refused: a zone names a
// local interface, and netip.Prefix.Contains is false for zoned addresses, so
// the range check alone would let fe80::1%eth0 or ::1%lo through.
func Allowed(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return false
	}
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// AllowedString parses an address as the dialer sees it ("host:port" or a bare
// address, possibly bracketed, possibly zoned) and reports whether it may be
// dialled. Anything that does not parse as an IP address is refused.
func AllowedString(s string) bool {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return Allowed(ap.Addr())
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	ip, err := netip.ParseAddr(s)
	return err == nil && Allowed(ip)
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
			// The dialer hands over the resolved address; a zone stays on it.
			ap, err := netip.ParseAddrPort(address)
			if err != nil || ap.Addr().Zone() != "" || !g.allowed(ap.Addr()) {
				return ErrForbiddenTarget
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
