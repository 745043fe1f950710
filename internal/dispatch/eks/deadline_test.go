package eks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TestHungAPIServerCallsReturnWithinTheDeadline: an API server that takes
// every request and never answers must not hold the caller: the real
// client-go client gives up after CallTimeout with a retryable error.
func TestHungAPIServerCallsReturnWithinTheDeadline(t *testing.T) {
	var seen atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	e, err := New(Config{
		Connections: []Connection{{Name: "hung", REST: &rest.Config{Host: srv.URL}, Namespace: "batch"}},
		CallTimeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	check := func(what string, err error) {
		t.Helper()
		require.Error(t, err, what)
		require.NoError(t, ctx.Err(), "%s: returned before the caller's own deadline", what)
		require.True(t, dispatch.IsRetryable(err), "%s: a hung call is retryable: %v", what, err)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%s: %v", what, err)
		require.ErrorContains(t, err, "did not answer within 300ms")
	}
	req := request(jobnet.EKSSpec{Connection: "hung", Image: "busybox"})
	_, err = e.Start(ctx, req)
	check("Start", err)
	h, err := makeHandle(HandleData{Connection: "hung", Namespace: "batch", Name: "koyomi-g1-load-extract-1", Mode: ModePod, Cleanup: CleanupDelete})
	require.NoError(t, err)
	_, err = e.Status(ctx, h)
	check("Status", err)
	_, err = e.Logs(ctx, h, "", 0)
	check("Logs", err)
	check("Cancel", e.Cancel(ctx, h, time.Second))
	require.Positive(t, seen.Load(), "the calls reached the server")
}
