// Package validate holds input rules shared by several kinds of object.
package validate

import (
	"strings"
	"unicode/utf8"

	"credkeep/apierror"
)

// MaxNameLen is the longest name of a workspace or credential, in characters.
const MaxNameLen = 100

// Name trims a name and checks that it has 1 to MaxNameLen characters; errors
// are BAD_USER_INPUT on the input field "name".
func Name(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", apierror.Invalid("name", "name must not be empty")
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return "", apierror.Invalid("name", "name must be at most %d characters", MaxNameLen)
	}
	return name, nil
}
