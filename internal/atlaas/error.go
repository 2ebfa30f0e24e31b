// Package atlaas holds the domain of the atlas: its words (collectivité, fiche, édition, enjeu,
// service, participation…) and its rules, independent of PostgreSQL, Bleve and HTTP.
package atlaas

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; the HTTP layer maps each to one status.
const (
	EINVALID      = "invalid"      // a parameter or body value is wrong
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // the change conflicts with the current state (e.g. a stale version)
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, but not for this
	EUNAVAILABLE  = "unavailable"  // a dependency is not ready (database down, index building)
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details are logged, never shown
	ETOOLARGE     = "too_large"    // the request body or the asked page is over the limit
	EPRECONDITION = "precondition" // a required precondition (e.g. If-Match) is missing
	EUNSUPPORTED  = "unsupported"  // an unsupported format or media type was asked for
	ENOTACCEPTED  = "not_accepted" // no representation matches the Accept header
	EMETHOD       = "method"       // the route exists, not with this method
)

// Error is an error meant for the user: Message is safe to show, Param names the offending
// parameter (query parameter, path parameter or body field) when there is one.
type Error struct {
	Code    string
	Message string
	Param   string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("atlaas error: code=%s param=%s message=%s", e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("atlaas error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParamErrorf returns an *Error naming the offending parameter.
func ParamErrorf(code, param, format string, args ...any) *Error {
	return &Error{Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any other error and ""
// for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of the *Error in err's chain, or a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Erreur interne."
}

// ErrorParam returns the offending parameter named by the *Error in err's chain, if any.
func ErrorParam(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Param
	}
	return ""
}
