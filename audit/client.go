package audit

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// Client is where a request came from.
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying the request's client.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the request's client, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// ClientOf returns a request's client address and user agent. X-Forwarded-For
// is believed only when the connection comes from a trusted proxy, and then
// only as far as the chain of trusted proxies goes: the address is the last
// one in the header that is not itself a trusted proxy.
func ClientOf(r *http.Request, trusted []*net.IPNet) Client {
	ua := text(r.UserAgent(), maxUserAgent)
	ip := remoteIP(r.RemoteAddr)
	if isTrusted(ip, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := net.ParseIP(strings.TrimSpace(hops[i]))
			if hop == nil {
				break
			}
			ip = hop.String()
			if !isTrusted(ip, trusted) {
				break
			}
		}
	}
	return Client{IP: ip, UserAgent: ua}
}

func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

func isTrusted(ip string, trusted []*net.IPNet) bool {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(parsed) {
			return true
		}
	}
	return false
}
