// Package metrics exposes Koyomi's Prometheus metrics: generations and units
// by state and the queue depth (read from the database at scrape time, so
// every replica reports the same shared truth), whether this replica is the
// planning leader, and the dispatch latency this replica observed.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// Counter reads state counts (the store implements it).
type Counter interface {
	CountGenerationsByState(ctx context.Context) ([]store.StateCount, error)
	CountUnitsByState(ctx context.Context) ([]store.StateCount, error)
}

// ScrapeTimeoutDefault bounds the database queries of one scrape.
const ScrapeTimeoutDefault = 5 * time.Second

// Metrics holds the registry and the instruments.
type Metrics struct {
	reg      *prometheus.Registry
	leader   atomic.Bool
	dispatch prometheus.Histogram
}

// New builds the registry with the Go and process collectors and the
// database-backed collector.
func New(c Counter, node string, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	constLabels := prometheus.Labels{"node": node}
	m.dispatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "koyomi_dispatch_seconds", Help: "Time from a unit becoming queued to its executor accepting the start.",
		ConstLabels: constLabels, Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	leader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "koyomi_leader", Help: "1 when this replica holds the planning lease.", ConstLabels: constLabels,
	}, func() float64 {
		if m.leader.Load() {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(m.dispatch, leader, &dbCollector{c: c, log: log})
	return m
}

// SetLeader records whether this replica is the planning leader.
func (m *Metrics) SetLeader(v bool) { m.leader.Store(v) }

// ObserveDispatch records one dispatch latency.
func (m *Metrics) ObserveDispatch(d time.Duration) { m.dispatch.Observe(d.Seconds()) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	genDesc   = prometheus.NewDesc("koyomi_generations", "Generations by state.", []string{"state"}, nil)
	unitDesc  = prometheus.NewDesc("koyomi_units", "Unit runs by state.", []string{"state"}, nil)
	queueDesc = prometheus.NewDesc("koyomi_queue_depth", "Units queued and waiting for a dispatch slot.", nil, nil)
	upDesc    = prometheus.NewDesc("koyomi_database_up", "1 when the state counts could be read from the database.", nil, nil)
)

type dbCollector struct {
	c   Counter
	log *slog.Logger
}

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- genDesc
	ch <- unitDesc
	ch <- queueDesc
	ch <- upDesc
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeoutDefault)
	defer cancel()
	gens, err1 := d.c.CountGenerationsByState(ctx)
	units, err2 := d.c.CountUnitsByState(ctx)
	if err1 != nil || err2 != nil {
		if d.log != nil {
			d.log.Warn("metrics: read state counts", "generations", err1, "units", err2)
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for _, g := range gens {
		ch <- prometheus.MustNewConstMetric(genDesc, prometheus.GaugeValue, float64(g.N), g.State)
	}
	var queued int64
	for _, u := range units {
		ch <- prometheus.MustNewConstMetric(unitDesc, prometheus.GaugeValue, float64(u.N), u.State)
		if u.State == "queued" {
			queued = int64(u.N)
		}
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(queued))
}
