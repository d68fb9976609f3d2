// Package apierror holds the errors credkeep shows to clients and their codes.
//
// The error presenter is an allow-list: only an *Error (found with errors.As, so
// wrapping keeps it) reaches a client with its message and extensions.code. Any
// other error is logged with a request id and shown as "internal error".
package apierror

import (
	"errors"
	"fmt"
)

// Code is the value of a GraphQL error's extensions.code (SPEC.md §5).
type Code string

// The codes of SPEC.md §5.
const (
	Unauthenticated         Code = "UNAUTHENTICATED"
	Forbidden               Code = "FORBIDDEN"
	NotFound                Code = "NOT_FOUND"
	BadUserInput            Code = "BAD_USER_INPUT"
	Conflict                Code = "CONFLICT"
	NotEditable             Code = "NOT_EDITABLE"
	CredentialInUse         Code = "CREDENTIAL_IN_USE"
	RateLimited             Code = "RATE_LIMITED"
	PersistedQueryNotFound  Code = "PERSISTED_QUERY_NOT_FOUND"
	PersistedQueryRequired  Code = "PERSISTED_QUERY_REQUIRED"
	QueryTooComplex         Code = "QUERY_TOO_COMPLEX"
	GraphQLValidationFailed Code = "GRAPHQL_VALIDATION_FAILED"
	GraphQLParseFailed      Code = "GRAPHQL_PARSE_FAILED"
	Internal                Code = "INTERNAL"
	// BadRequest: the body is not a GraphQL request at all (SPEC.md §8).
	BadRequest Code = "BAD_REQUEST"
)

// Known reports whether c is one of the codes of the contract.
func Known(c string) bool {
	switch Code(c) {
	case Unauthenticated, Forbidden, NotFound, BadUserInput, Conflict, NotEditable,
		CredentialInUse, RateLimited, PersistedQueryNotFound, PersistedQueryRequired,
		QueryTooComplex, GraphQLValidationFailed, GraphQLParseFailed, Internal, BadRequest:
		return true
	}
	return false
}

// Error is an error meant for the client. Its Message must never contain a secret.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault (extensions.field), for BAD_USER_INPUT.
	Field string
	// Extensions are added to extensions beside code (and field).
	Extensions map[string]any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// As returns the client error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err carries the client error code c.
func Is(err error, c Code) bool {
	e, ok := As(err)
	return ok && e.Code == c
}

// New returns a client error with the given code and message.
func New(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a BAD_USER_INPUT error naming the input field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// UnauthenticatedErr is the error for a request without valid credentials.
func UnauthenticatedErr() *Error {
	return &Error{Code: Unauthenticated, Message: "authentication required"}
}

// NotFoundErr says that what was asked for does not exist or cannot be seen by the caller.
func NotFoundErr(what string) *Error {
	return &Error{Code: NotFound, Message: what + " not found"}
}

// ForbiddenErr says that the caller can see the object but may not do this to it.
func ForbiddenErr(format string, args ...any) *Error {
	return &Error{Code: Forbidden, Message: fmt.Sprintf(format, args...)}
}

// ConflictErr says that the request conflicts with the current state.
func ConflictErr(format string, args ...any) *Error {
	return &Error{Code: Conflict, Message: fmt.Sprintf(format, args...)}
}
