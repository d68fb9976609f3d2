package httpapi

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"
)

// playgroundHandler serves GraphiQL. For now it is gqlgen's page, which loads its
// scripts from a CDN; the self-hosted, CSP-locked playground replaces it.
func playgroundHandler() http.Handler {
	return playground.Handler("credkeep", "/graphql")
}
