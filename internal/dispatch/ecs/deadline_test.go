package ecs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

// TestHungCallsReturnWithinTheDeadline: an endpoint that takes a request
// and never answers (RunTask, DescribeTasks, GetLogEvents, StopTask) must
// not hold the caller: each call fails after CallTimeout with a retryable
// error that says so. The caller's own context has a far longer deadline.
func TestHungCallsReturnWithinTheDeadline(t *testing.T) {
	f := newFake(t, ecsfake.Config{Tick: 10 * time.Millisecond, ScriptFor: scriptFor(&stages{})})
	ex := newExecutor(t, f, func(c *ecs.Config) { c.CallTimeout = 300 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A task to describe, log and stop later.
	h, err := ex.Start(ctx, dispatch.Request{Key: "deadline-ok-1", RunID: "r", Unit: "u", Attempt: 1, Job: ecsJob("sleep")})
	require.NoError(t, err)

	hung := func(op string, call func() error) {
		t.Helper()
		release := f.Hold(op)
		defer release()
		err := call()
		require.Error(t, err, op)
		require.NoError(t, ctx.Err(), "%s: returned before the caller's own deadline", op)
		require.True(t, dispatch.IsRetryable(err), "%s: a hung call is retryable: %v", op, err)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "%s: %v", op, err)
		require.ErrorContains(t, err, "no answer within 300ms")
	}
	hung("ListTasks", func() error {
		_, err := ex.Start(ctx, dispatch.Request{Key: "deadline-hung-1", RunID: "r", Unit: "u", Attempt: 1, Job: ecsJob("sleep")})
		return err
	})
	hung("RunTask", func() error {
		_, err := ex.Start(ctx, dispatch.Request{Key: "deadline-hung-2", RunID: "r", Unit: "u", Attempt: 1, Job: ecsJob("sleep")})
		return err
	})
	hung("DescribeTasks", func() error {
		_, err := ex.Statuses(ctx, []dispatch.Handle{h})
		return err
	})
	hung("StopTask", func() error { return ex.Cancel(ctx, h, time.Second) })

	// Released, the same calls work again: nothing stays stuck.
	_, err = ex.Statuses(ctx, []dispatch.Handle{h})
	require.NoError(t, err)
	require.NoError(t, ex.Cancel(ctx, h, time.Second))
}
