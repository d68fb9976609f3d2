// Package metrics holds credkeep's Prometheus metrics (SPEC.md §13) in a
// registry of one server instance. No label ever holds an id, a secret, a
// token or a string a client chose: operations are named by their type and
// first root field (names from the schema), routes by the server's own paths,
// outcomes by the error codes of the contract.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one instance's metrics.
type Metrics struct {
	registry      *prometheus.Registry
	operations    *prometheus.CounterVec
	opDuration    *prometheus.HistogramVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	rateLimited   prometheus.Counter
	auditAppend   prometheus.Histogram
	auditFailures prometheus.Counter
	cache         *prometheus.CounterVec
}

// New returns a registry with credkeep's metrics and the Go runtime's.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeep_graphql_operations_total",
			Help: "GraphQL operations by operation (type and first root field) and outcome (ok or the first error's code).",
		}, []string{"operation", "outcome"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "credkeep_graphql_operation_duration_seconds",
			Help:    "Time to answer a GraphQL operation, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"operation"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeep_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "credkeep_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "credkeep_rate_limited_total",
			Help: "API token requests refused over the hourly limit.",
		}),
		auditAppend: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "credkeep_audit_append_duration_seconds",
			Help:    "Time until an audit entry is durable (group-committed).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "credkeep_audit_append_failures_total",
			Help: "Audit entries that could not be written (the operation they describe failed, or a denial went unrecorded).",
		}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credkeep_cache_requests_total",
			Help: "Look-ups of in-process caches by cache and result (hit or miss); the hit ratio is hit / (hit + miss).",
		}, []string{"cache", "result"}),
	}
	m.registry.MustRegister(m.operations, m.opDuration, m.httpRequests, m.httpDuration, m.rateLimited,
		m.auditAppend, m.auditFailures, m.cache,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Operation counts one GraphQL operation.
func (m *Metrics) Operation(operation, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.operations.WithLabelValues(operation, outcome).Inc()
	m.opDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// HTTP counts one HTTP request.
func (m *Metrics) HTTP(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, statusText(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// RateLimited counts one refused API token request.
func (m *Metrics) RateLimited() {
	if m != nil {
		m.rateLimited.Inc()
	}
}

// AuditAppend records one audit write and whether it failed.
func (m *Metrics) AuditAppend(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.auditAppend.Observe(d.Seconds())
	if err != nil {
		m.auditFailures.Inc()
	}
}

// AuditFailure counts an audit write that failed outside Record (a denial).
func (m *Metrics) AuditFailure() {
	if m != nil {
		m.auditFailures.Inc()
	}
}

// Cache counts one look-up of a named cache.
func (m *Metrics) Cache(name string, hit bool) {
	if m == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(name, result).Inc()
}

// statusText keeps the code label to the codes HTTP defines.
func statusText(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return itoa(code)
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}
