package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// histogramTotals are the running sums and counts of two of credkeep's own
// histograms: the time a GraphQL request spends in the handler, and the wait
// of an audit entry until it is durable. Two scrapes around a scenario say
// where its requests spent their time on the server's side (the rest of the
// latency the client sees is the kernel, net/http around the handler, and the
// client's own turn on the CPU).
type histogramTotals struct {
	handlerSum, handlerN, auditSum, auditN float64
}

// scrapeTotals reads the totals from the server's /metrics.
func scrapeTotals(base string) (histogramTotals, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return histogramTotals{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return histogramTotals{}, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return histogramTotals{}, fmt.Errorf("GET /metrics: %w", err)
	}
	var t histogramTotals
	if f := families["credkeep_http_request_duration_seconds"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == "/graphql" {
					t.handlerSum, t.handlerN = m.GetHistogram().GetSampleSum(), float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	if f := families["credkeep_audit_append_duration_seconds"]; f != nil && len(f.GetMetric()) > 0 {
		h := f.GetMetric()[0].GetHistogram()
		t.auditSum, t.auditN = h.GetSampleSum(), float64(h.GetSampleCount())
	}
	return t, nil
}

// meansSince sets row's server-side means for the window between before and t.
func (t histogramTotals) meansSince(before histogramTotals, row *Row) {
	if n := t.handlerN - before.handlerN; n > 0 {
		row.HandlerMs = (t.handlerSum - before.handlerSum) / n * 1000
	}
	if n := t.auditN - before.auditN; n > 0 {
		row.AuditWaitMs = (t.auditSum - before.auditSum) / n * 1000
	}
}

// serverMeans says the row's server-side means, when it has them.
func (r Row) serverMeans() string {
	switch {
	case r.AuditWaitMs > 0:
		return fmt.Sprintf("; on the server, means: %.1f ms in the handler, of which %.1f ms waiting for the audit entry", r.HandlerMs, r.AuditWaitMs)
	case r.HandlerMs > 0:
		return fmt.Sprintf("; on the server, mean: %.1f ms in the handler", r.HandlerMs)
	}
	return ""
}
