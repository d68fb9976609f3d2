package connection

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"strconv"

	"credkeep/internal/netguard"
	"credkeep/provider"
)

// Result is the outcome of a connection test. Message never holds a secret.
type Result struct {
	OK      bool
	Message string
	// Failure says what went wrong when OK is false (nil for "cannot be tested").
	Failure *Failure
}

func fail(format string, args ...any) Result { return Result{Message: fmt.Sprintf(format, args...)} }

// failed is a Result for an error: a Failure's own words, or the kind of a
// transport error; never the error's text, which may hold a provider's.
func failed(err error, what string) Result {
	if errors.Is(err, ErrNotAuthorized) || errors.Is(err, ErrReauthorize) || errors.Is(err, ErrNotOAuth) {
		return Result{Message: err.Error()}
	}
	return classify(err, what).result() // a Failure stays as it is
}

// result is the failed test a Failure describes.
func (f *Failure) result() Result { return Result{Message: f.Error(), Failure: f} }

// Test checks that a credential works: SMTP logs in, OAuth2 types obtain a token,
// API-key types call a cheap authenticated endpoint of their provider.
func (m *Manager) Test(ctx context.Context, c Cred) Result {
	ctx, cancel := context.WithTimeout(ctx, netguard.RequestTimeout)
	defer cancel()
	t, ok := provider.Lookup(c.Type)
	if !ok || t.Check == nil {
		return fail("%s credentials cannot be tested", c.Type)
	}
	switch check := t.Check; {
	case check.SMTP:
		return m.testSMTP(ctx, c)
	case check.Token:
		if _, err := m.Token(ctx, c, true); err != nil {
			return failed(err, "the token endpoint")
		}
		return Result{OK: true, Message: "obtained an access token"}
	case check.HTTP != nil:
		h := check.HTTP
		return m.testHTTP(ctx, h.URL(c.Fields, m.cfg.base), func(r *http.Request) { h.Auth(r, c.Fields, c.secret) })
	}
	return fail("%s credentials cannot be tested", c.Type)
}

func (m *Manager) testHTTP(ctx context.Context, target string, auth func(*http.Request)) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fail("invalid provider address")
	}
	auth(req)
	resp, err := m.cfg.Guard.HTTPClient().Do(req)
	if err != nil {
		return failed(err, "the provider")
	}
	resp.Body.Close()
	code := "HTTP " + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return Result{OK: true, Message: "the provider accepted the credential (" + code + ")"}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return (&Failure{Kind: AuthRefused, Code: code}).result()
	}
	return (&Failure{Kind: ProviderError, Code: code}).result()
}

// testSMTP connects, negotiates TLS as configured (tls: from the start;
// starttls: required upgrade; none: plain) and authenticates.
func (m *Manager) testSMTP(ctx context.Context, c Cred) Result {
	host, port := c.Fields["host"], c.Fields["port"]
	addr := net.JoinHostPort(host, port)
	conn, err := m.cfg.Guard.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failed(err, "the SMTP server")
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	tlsCfg := &tls.Config{ServerName: host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	security := c.Fields["security"]
	if security == "tls" {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return tlsFailure(err).result()
		}
		conn = tc
	}
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return smtpFailure(err, ProviderError).result()
	}
	defer client.Close()
	if err := client.Hello("credkeep"); err != nil {
		return smtpFailure(err, ProviderError).result()
	}
	if security == "starttls" {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return fail("the server does not offer STARTTLS")
		}
		if err := client.StartTLS(tlsCfg); err != nil {
			return tlsFailure(err).result()
		}
	}
	if ok, _ := client.Extension("AUTH"); !ok {
		return fail("the server does not offer authentication")
	}
	if err := client.Auth(smtp.PlainAuth("", c.Fields["username"], c.secret("password"), host)); err != nil {
		return smtpFailure(err, AuthRefused).result()
	}
	_ = client.Quit()
	return Result{OK: true, Message: "connected and authenticated"}
}

// tlsFailure describes a failed handshake with an SMTP server.
func tlsFailure(err error) *Failure {
	f := classify(err, "the SMTP server")
	if f.Kind == Unreachable {
		f.Kind = TLSFailed
	}
	return f
}
