package connection

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"

	"golang.org/x/oauth2"

	"credkeep/internal/netguard"
)

// FailureKind is what went wrong with an outbound call, in credkeep's words.
// A provider's own text (error_description, SMTP reply text, bodies) is never
// kept: an endpoint chosen by a user could echo the request, secrets included,
// into it (SPEC.md §8).
type FailureKind string

// Failure kinds.
const (
	Unreachable   FailureKind = "UNREACHABLE"    // no connection: DNS, refused, reset
	TLSFailed     FailureKind = "TLS_FAILED"     // the handshake or the certificate
	AuthRefused   FailureKind = "AUTH_REFUSED"   // the provider refused the credential
	ProviderError FailureKind = "PROVIDER_ERROR" // the provider answered with an error
	Timeout       FailureKind = "TIMEOUT"        // no answer in time
	NotAllowed    FailureKind = "NOT_ALLOWED"    // the address policy refused the target
)

// Failure is an outbound call that did not succeed. Code is the provider's
// status where there is one: an HTTP status, an SMTP reply code, or an RFC 6749
// error code from the fixed list the RFCs define; nothing else of the answer.
type Failure struct {
	Kind FailureKind
	Code string
	// What names the step: "the token endpoint", "the SMTP server", "the provider".
	What string
}

func (f *Failure) Error() string {
	what := f.What
	if what == "" {
		what = "the provider"
	}
	switch f.Kind {
	case NotAllowed:
		return what + " is on a loopback, private or otherwise reserved address, which is not allowed"
	case Timeout:
		return what + " did not answer in time"
	case TLSFailed:
		if f.Code != "" {
			return "TLS with " + what + " failed: " + f.Code
		}
		return "TLS with " + what + " failed"
	case AuthRefused:
		return what + " refused the credential" + codeSuffix(f.Code)
	case ProviderError:
		return what + " answered with an error" + codeSuffix(f.Code)
	}
	return what + " could not be reached"
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}

// oauthErrorCodes are the error codes of RFC 6749 (§4.1.2.1, §5.2) and OpenID
// Connect Core (§3.1.2.6): the only provider words an OAuth failure repeats.
var oauthErrorCodes = map[string]bool{
	"invalid_request": true, "invalid_client": true, "invalid_grant": true, "unauthorized_client": true,
	"unsupported_grant_type": true, "invalid_scope": true, "access_denied": true, "unsupported_response_type": true,
	"server_error": true, "temporarily_unavailable": true, "interaction_required": true, "login_required": true,
	"account_selection_required": true, "consent_required": true, "invalid_request_uri": true,
	"invalid_request_object": true, "request_not_supported": true, "request_uri_not_supported": true,
	"registration_not_supported": true,
}

// OAuthErrorCode returns code when it is one of the RFC 6749 / OIDC codes, else "".
func OAuthErrorCode(code string) string {
	if oauthErrorCodes[code] {
		return code
	}
	return ""
}

// classify turns a transport error into a Failure about what.
func classify(err error, what string) *Failure {
	var f *Failure
	switch {
	case errors.As(err, &f):
		return f
	case errors.Is(err, netguard.ErrForbiddenTarget):
		return &Failure{Kind: NotAllowed, What: what}
	case errors.Is(err, context.DeadlineExceeded):
		return &Failure{Kind: Timeout, What: what}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Failure{Kind: Timeout, What: what}
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var rh tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn):
		return &Failure{Kind: TLSFailed, Code: "certificate not trusted", What: what}
	case errors.As(err, &rh), errors.As(err, &alert):
		return &Failure{Kind: TLSFailed, What: what}
	}
	return &Failure{Kind: Unreachable, What: what}
}

// tokenFailure describes a token endpoint's refusal: the RFC 6749 code when it
// is one, else the HTTP status; a transport error by its kind.
func tokenFailure(err error) *Failure {
	const what = "the token endpoint"
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return classify(err, what)
	}
	code := OAuthErrorCode(re.ErrorCode)
	if code == "" && re.Response != nil {
		code = "HTTP " + strconv.Itoa(re.Response.StatusCode)
	}
	kind := ProviderError
	if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" || (re.Response != nil && (re.Response.StatusCode == 401 || re.Response.StatusCode == 403)) {
		kind = AuthRefused
	}
	return &Failure{Kind: kind, Code: code, What: what}
}

// smtpFailure keeps an SMTP reply's code, never its text.
func smtpFailure(err error, kind FailureKind) *Failure {
	const what = "the SMTP server"
	var te *textproto.Error
	if errors.As(err, &te) {
		return &Failure{Kind: kind, Code: fmt.Sprintf("SMTP %d", te.Code), What: what}
	}
	return classify(err, what)
}
