package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Without tracing, Handler and Monitor install nothing.
func TestNilTracingInstallsNothing(t *testing.T) {
	var tr *Tracing
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := tr.Handler(h); got == nil || httptest.NewRecorder() == nil {
		t.Fatal("no handler")
	}
	if tr.Monitor() != nil {
		t.Error("a monitor without tracing")
	}
	if Enabled(func(string) (string, bool) { return "", false }) {
		t.Error("enabled without an endpoint")
	}
	if !Enabled(func(k string) (string, bool) {
		return "http://127.0.0.1:4318", k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	}) {
		t.Error("not enabled with a traces endpoint")
	}
}

// BenchmarkStartWithoutTracing is what a key-operation span costs a request
// when tracing is off: the no-op provider of a context without a span.
func BenchmarkStartWithoutTracing(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, end := Start(ctx, "decrypt")
		end(nil)
	}
}

func TestUserinfoRemoved(t *testing.T) {
	got := userinfo.ReplaceAllString(`Post "https://user:pa55@collector.example:4318/v1/traces": EOF`, "://")
	if got != `Post "https://collector.example:4318/v1/traces": EOF` {
		t.Errorf("got %s", got)
	}
}
