package ecs

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Client-side rate defaults (calls per second, per connection). They stay
// below the account-wide quotas ECS and CloudWatch Logs document
// (GetLogEvents: 25 per second per account and region), which every
// other client of the account shares.
const (
	RunTaskRateDefault       = 10
	DescribeTasksRateDefault = 20
	GetLogEventsRateDefault  = 10
	// OtherRateDefault covers ListTasks, StopTask and the task definition calls.
	OtherRateDefault = 20
)

// Rates limits the calls one connection makes, per second; each allows a
// burst of its rate rounded up. Zero means the default.
type Rates struct {
	RunTask       float64
	DescribeTasks float64
	GetLogEvents  float64
	Other         float64
}

func (r Rates) withDefaults() Rates {
	if r.RunTask == 0 {
		r.RunTask = RunTaskRateDefault
	}
	if r.DescribeTasks == 0 {
		r.DescribeTasks = DescribeTasksRateDefault
	}
	if r.GetLogEvents == 0 {
		r.GetLogEvents = GetLogEventsRateDefault
	}
	if r.Other == 0 {
		r.Other = OtherRateDefault
	}
	return r
}

// limiters are the token buckets of one connection.
type limiters struct {
	byOp  map[string]*rate.Limiter
	other *rate.Limiter
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

func newLimiters(r Rates, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiters {
	mk := func(perSecond float64) *rate.Limiter {
		return rate.NewLimiter(rate.Limit(perSecond), int(math.Ceil(perSecond)))
	}
	return &limiters{
		byOp: map[string]*rate.Limiter{
			"RunTask":       mk(r.RunTask),
			"DescribeTasks": mk(r.DescribeTasks),
			"GetLogEvents":  mk(r.GetLogEvents),
		},
		other: mk(r.Other),
		now:   now,
		sleep: sleep,
	}
}

// wait takes a token for op, waiting as long as the bucket says. A wait
// that would outlast ctx gives the token back and fails at once.
func (l *limiters) wait(ctx context.Context, op string) error {
	lim := l.byOp[op]
	if lim == nil {
		lim = l.other
	}
	now := l.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("rate limit of %s allows no call", op)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		r.CancelAt(now)
		return &RetryableError{Err: fmt.Errorf("%s: the client-side rate limit would delay the call past its deadline", op)}
	}
	if err := l.sleep(ctx, d); err != nil {
		r.CancelAt(l.now())
		return err
	}
	return nil
}

// middleware waits for a token before every attempt of a call (it runs
// after the SDK's retry step, so retries count too).
func (l *limiters) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("KoyomiRateLimit",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := l.wait(ctx, middleware.GetOperationName(ctx)); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
