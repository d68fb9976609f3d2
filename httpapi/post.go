package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// jsonPOST is gqlgen's POST transport (transport.POST: the same requests, the
// same content negotiation, statuses and errors) with one change: the answer's
// data is written as the executor made it. gqlgen hands the whole response to
// json.Marshal, which re-validates and compacts the data it was given already
// compact, byte by byte: a tenth of the CPU of a page of 50 credentials. Here
// the data is only HTML-escaped (as json.Marshal would: <, >, &, U+2028/9),
// and the small rest of the response goes through json.Marshal.
type jsonPOST struct{ transport.POST }

const (
	mediaJSON                = "application/json"
	mediaGraphQLResponseJSON = "application/graphql-response+json"
)

func (t jsonPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	contentType := responseMediaType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", contentType)
	params := &graphql.RawParams{Headers: r.Header}
	start := graphql.Now()
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body")}))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		// The body is not repeated in the error (gqlgen's does): it may hold secrets.
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %v", err)}))
		return
	}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(opErr) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
			if contentType == mediaGraphQLResponseJSON {
				status = http.StatusBadRequest
			}
		}
		w.WriteHeader(status)
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeResponse(w, responses(ctx))
}

// responseMediaType is transport.POST's choice of answer format for an Accept header.
func responseMediaType(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponseJSON:
			return mediaGraphQLResponseJSON
		}
	}
	return mediaGraphQLResponseJSON
}

// writeResponse writes what json.Marshal(resp) writes, up to the order of the
// top-level keys: data first, then the rest.
func writeResponse(w io.Writer, resp *graphql.Response) {
	rest, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors,omitempty"`
		Label      string         `json:"label,omitempty"`
		Path       ast.Path       `json:"path,omitempty"`
		HasNext    *bool          `json:"hasNext,omitempty"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Label, resp.Path, resp.HasNext, resp.Extensions})
	if err != nil {
		panic("marshal a GraphQL response: " + err.Error())
	}
	var b bytes.Buffer
	b.Grow(len(resp.Data) + len(rest) + 16)
	b.WriteString(`{"data":`)
	if len(resp.Data) == 0 {
		b.WriteString("null")
	} else {
		htmlEscape(&b, resp.Data)
	}
	if len(rest) > 2 {
		b.WriteByte(',')
		b.Write(rest[1:])
	} else {
		b.WriteByte('}')
	}
	_, _ = w.Write(b.Bytes())
}

// htmlEscape writes src to dst exactly as json.HTMLEscape does (<, >, & and
// U+2028, U+2029 as \u escapes), but finds those with bytes.IndexByte, which
// looks at many bytes at a time, where json.HTMLEscape branches on each one: a
// page of credentials is tens of kilobytes holding a few of them at most
// (0xE2 starts the two separators, and also the bullets of every hint).
// next holds each byte's next position at or after pos (len(src): none), so
// every byte is scanned once for each of the four.
func htmlEscape(dst *bytes.Buffer, src []byte) {
	const hex = "0123456789abcdef"
	special := [...]byte{'<', '>', '&', 0xE2}
	var next [len(special)]int
	find := func(k, from int) {
		if i := bytes.IndexByte(src[from:], special[k]); i >= 0 {
			next[k] = from + i
		} else {
			next[k] = len(src)
		}
	}
	for k := range special {
		find(k, 0)
	}
	dst.Grow(len(src))
	pos := 0
	for {
		i := min(next[0], next[1], next[2], next[3])
		if i == len(src) {
			dst.Write(src[pos:])
			return
		}
		dst.Write(src[pos:i])
		switch c := src[i]; {
		case c != 0xE2:
			dst.WriteString(`\u00`)
			dst.WriteByte(hex[c>>4])
			dst.WriteByte(hex[c&0xF])
			pos = i + 1
		case i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
			dst.WriteString(`\u202`)
			dst.WriteByte(hex[src[i+2]&0xF])
			pos = i + 3
		default:
			dst.WriteByte(c)
			pos = i + 1
		}
		for k := range special {
			if next[k] < pos {
				find(k, pos)
			}
		}
	}
}
