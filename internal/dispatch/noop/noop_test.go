package noop_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestConformance(t *testing.T) {
	dispatchtest.Run(t, dispatchtest.Harness{
		Type: jobnet.JobNoop,
		// State is per instance, so every "new instance" is the same one.
		Setup: func(t *testing.T) dispatchtest.Backend {
			ex := noop.New(nil)
			return dispatchtest.Backend{
				New:        func(*testing.T) dispatch.Executor { return ex },
				Executions: func(*testing.T) int { return ex.Executions() },
			}
		},
		ExitCodes: []int{0},
		ExitJob: func(t *testing.T, code int) jobnet.Job {
			require.Zero(t, code, "noop jobs only exit with 0")
			return jobnet.Job{Type: jobnet.JobNoop}
		},
		Timeout: 2 * time.Second,
	})
}

func TestFakeClock(t *testing.T) {
	at := time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)
	ex := noop.New(func() time.Time { return at })
	ctx := context.Background()
	h, err := ex.Start(ctx, dispatchtest.NewRequest("k-1", jobnet.Job{Type: jobnet.JobNoop}))
	require.NoError(t, err)
	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, at, st.StartedAt)
	require.Equal(t, at, st.EndedAt)
}

func TestBadKeyIsPermanent(t *testing.T) {
	ex := noop.New(nil)
	for _, key := range []string{"", "-lead", "UPPER", "with space", "x/y", string(make([]byte, 65))} {
		_, err := ex.Start(context.Background(), dispatchtest.NewRequest(key, jobnet.Job{Type: jobnet.JobNoop}))
		var perm *dispatch.Permanent
		require.ErrorAs(t, err, &perm, "key %q", key)
		require.ErrorIs(t, err, fault.ErrInvalid, "key %q", key)
	}
	require.Zero(t, ex.Executions())
}

func TestBadCursor(t *testing.T) {
	ex := noop.New(nil)
	h, err := ex.Start(context.Background(), dispatchtest.NewRequest("k-2", jobnet.Job{Type: jobnet.JobNoop}))
	require.NoError(t, err)
	_, err = ex.Logs(context.Background(), h, "12", 0)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func BenchmarkStartStatus(b *testing.B) {
	ex := noop.New(nil)
	ctx := context.Background()
	req := dispatchtest.NewRequest("", jobnet.Job{Type: jobnet.JobNoop})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// A new key each time: every Start records an execution.
		req.Key = "bench-" + strconv.Itoa(i)
		i++
		h, err := ex.Start(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		st, err := ex.Status(ctx, h)
		if err != nil || st.State != dispatch.StateExited {
			b.Fatal(st, err)
		}
	}
}
