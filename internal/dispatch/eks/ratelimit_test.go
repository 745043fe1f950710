package eks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

// TestConnectionRateLimit: a connection's qps and burst reach the real
// client-go limiter, so a request beyond them waits instead of going out;
// one that could not go out before its deadline fails without reaching the
// server.
func TestConnectionRateLimit(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns"}}`))
	}))
	defer srv.Close()
	rc, err := restConfig(context.Background(), Connection{Name: "c", REST: &rest.Config{Host: srv.URL}}, nil)
	require.NoError(t, err)
	require.Equal(t, float32(QPSDefault), rc.QPS)
	require.Equal(t, BurstDefault, rc.Burst)

	cs, err := clientFor(context.Background(), Connection{Name: "c", REST: &rest.Config{Host: srv.URL}, QPS: 0.01, Burst: 2}, nil)
	require.NoError(t, err)
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cs.CoreV1().Pods("ns").Get(ctx, "p", getOpts)
		return err
	}
	require.NoError(t, get())
	require.NoError(t, get(), "within the burst")
	err = get()
	require.ErrorContains(t, err, "rate limit", "the third request in a burst of 2 at 0.01/s would wait 100 s")
	require.Equal(t, int32(2), calls.Load(), "the limited request never reached the server")
}

// TestLogReadsAreRateLimited: log reads of a connection have their own
// limiter (log_qps), so many alerts or viewers cannot flood the kubelets.
func TestLogReadsAreRateLimited(t *testing.T) {
	l := logLimiter(Connection{LogQPS: 0.01})
	require.Equal(t, 1, l.Burst())
	require.InDelta(t, 0.01, float64(l.Limit()), 1e-9)
	l = logLimiter(Connection{})
	require.Equal(t, 2*LogQPSDefault, l.Burst())
}
