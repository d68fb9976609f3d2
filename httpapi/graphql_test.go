package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"credkeep/internal/apierror"
	"credkeep/internal/logging"
)

func TestErrorPresenterIsAnAllowList(t *testing.T) {
	var logs bytes.Buffer
	present := presentError(logging.New(&logs, "json", slog.LevelInfo), false)
	ctx := logging.WithRequestID(context.Background(), "req-123")

	validation := gqlerror.Errorf("Cannot query field \"x\" on type \"Query\".")
	validation.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
	odd := gqlerror.Errorf("odd")
	odd.Extensions = map[string]any{"code": "SOMETHING_ELSE"}

	cases := []struct {
		name     string
		err      error
		code     string
		message  string
		field    string
		internal bool
	}{
		{"client error", apierror.Invalid("name", "name must not be empty"), "BAD_USER_INPUT", "name must not be empty", "name", false},
		{"wrapped client error", fmt.Errorf("service: %w", apierror.ConflictErr("taken")), "CONFLICT", "taken", "", false},
		{"validation error", validation, "GRAPHQL_VALIDATION_FAILED", validation.Message, "", false},
		{"plain error", errors.New("dial unix /data/ferretdb.sock: connection refused"), "INTERNAL", "internal error (request id req-123)", "", true},
		{"gqlerror with an unknown code", odd, "INTERNAL", "internal error (request id req-123)", "", true},
		{"wrapped plain error", gqlerror.WrapPath(nil, errors.New("boom password=hunter2")), "INTERNAL", "internal error (request id req-123)", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			g := present(ctx, tc.err)
			if g.Extensions["code"] != tc.code || g.Message != tc.message {
				t.Fatalf("got code %v message %q", g.Extensions["code"], g.Message)
			}
			if tc.field != "" && g.Extensions["field"] != tc.field {
				t.Errorf("field = %v", g.Extensions["field"])
			}
			if tc.internal {
				if !strings.Contains(logs.String(), `"request_id":"req-123"`) {
					t.Errorf("internal error not logged with the request id: %s", logs.String())
				}
				if g.Extensions["requestId"] != "req-123" {
					t.Errorf("requestId extension = %v", g.Extensions["requestId"])
				}
			}
		})
	}
}
