package httpapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
)

// graphqlResponse makes gqlgen's answers to requests that fail before execution
// (parse, validation, variable coercion) follow the GraphQL over HTTP spec:
// a client that accepts application/json gets 200 (gqlgen answers 422), and a
// client that accepts application/graphql-response+json gets its media type and
// no "data" entry. Responses are small; they are buffered to be rewritten.
func graphqlResponse(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) {
			next.ServeHTTP(w, r) // the upgrader takes the connection over
			return
		}
		if acceptsMultipart(r.Header) || isStream(r) {
			// An incremental answer (@defer) streams: nothing to rewrite, nothing buffered.
			next.ServeHTTP(&streamed{ResponseWriter: w}, r)
			return
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		// Answers hold user data: no cache, shared or private, keeps them (SPEC.md §9).
		w.Header().Set("Cache-Control", "no-store")
		status, body := rec.status, rec.body.Bytes()
		if status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
			if acceptsGraphQLResponse(r) {
				var m map[string]json.RawMessage
				if json.Unmarshal(body, &m) == nil {
					if d, ok := m["data"]; ok && string(d) == "null" {
						delete(m, "data")
						if b, err := json.Marshal(m); err == nil {
							body = b
						}
					}
				}
				w.Header().Set("Content-Type", "application/graphql-response+json")
			} else if status == http.StatusUnprocessableEntity {
				status = http.StatusOK
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

func acceptsGraphQLResponse(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/graphql-response+json" {
			return true
		}
	}
	return false
}

type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}
