package ecs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// CallTimeoutDefault bounds one AWS call (Config.CallTimeout).
const CallTimeoutDefault = 30 * time.Second

// callDeadline returns SDK middleware that gives every operation a deadline
// of d, covering its retries, signing and any credential refresh (an
// AssumeRole call). An operation that runs out of time fails with a
// RetryableError that says so; the caller's own cancellation is passed on
// as it is.
func callDeadline(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("KoyomiCallDeadline",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				cctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				out, md, err := next.HandleInitialize(cctx, in)
				if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
					err = &RetryableError{Err: fmt.Errorf("%s %s: no answer within %s: %w",
						middleware.GetServiceID(ctx), middleware.GetOperationName(ctx), d, err)}
				}
				return out, md, err
			}), middleware.Before)
	}
}
