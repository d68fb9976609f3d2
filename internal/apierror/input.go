package apierror

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Reasons of BAD_USER_INPUT errors (extensions.reason, SPEC.md §9): a client
// words the error itself from the reason and extensions.params.
const (
	ReasonRequired            = "REQUIRED"
	ReasonUnknownField        = "UNKNOWN_FIELD"
	ReasonInvalidFormat       = "INVALID_FORMAT"
	ReasonOutOfRange          = "OUT_OF_RANGE"
	ReasonTooLong             = "TOO_LONG"
	ReasonNotAnOption         = "NOT_AN_OPTION"
	ReasonDuplicate           = "DUPLICATE"
	ReasonForbiddenCharacters = "FORBIDDEN_CHARACTERS"
	ReasonSecretRequired      = "SECRET_REQUIRED_FOR_DESTINATION_CHANGE"
	ReasonInvalidValue        = "INVALID_VALUE"
)

// InvalidBecause returns BAD_USER_INPUT on field with a reason and its params
// (nil: none). The message must not contain the value (it may be a secret).
func InvalidBecause(field, reason string, params map[string]any, format string, args ...any) *Error {
	if params == nil {
		params = map[string]any{}
	}
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...),
		Extensions: map[string]any{"reason": reason, "params": params}}
}

// Join returns the client errors of one input as one error: nil for none, the
// error itself for one, and for several a gqlerror.List, which gqlgen reports
// as one entry of "errors" each, so a form learns every mistake at once.
func Join(errs []*Error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	list := make(gqlerror.List, len(errs))
	for i, e := range errs {
		list[i] = &gqlerror.Error{Message: e.Message, Err: e}
	}
	return list
}

// Collect appends err's client errors (those of a Join, or err itself) to
// errs. Any other error is returned for the caller to fail with.
func Collect(errs []*Error, err error) ([]*Error, error) {
	if err == nil {
		return errs, nil
	}
	if list, ok := err.(gqlerror.List); ok {
		for _, g := range list {
			e, ok := As(g)
			if !ok {
				return errs, err
			}
			errs = append(errs, e)
		}
		return errs, nil
	}
	if e, ok := As(err); ok {
		return append(errs, e), nil
	}
	return errs, err
}
