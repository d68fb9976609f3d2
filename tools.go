//go:build tools

// Package tools pins the code generators in go.mod, so `make generate` uses the
// versions the project was built with.
package tools

import (
	_ "github.com/99designs/gqlgen"
	_ "github.com/Khan/genqlient"
)
