package ecs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// RetryableError marks a call that failed for a passing reason (throttled
// after every SDK attempt, a 5xx answer, a network error, no capacity): the
// runner tries again later with its backoff.
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string   { return e.Err.Error() }
func (e *RetryableError) Unwrap() error   { return e.Err }
func (e *RetryableError) Retryable() bool { return true }

// RunTaskFailure is one entry of RunTask's failures: ECS accepted the call
// but placed no task.
type RunTaskFailure struct {
	Reason string // RESOURCE:MEMORY, AGENT, ATTRIBUTE …
	Detail string
	ARN    string
}

func (f *RunTaskFailure) Error() string {
	s := "ecs placed no task: " + f.Reason
	if f.Detail != "" {
		s += " (" + f.Detail + ")"
	}
	if f.ARN != "" {
		s += " at " + f.ARN
	}
	return s
}

// Capacity reports whether the failure is a shortage that goes away on its
// own (CPU, memory, ports, ENIs, GPUs on the instances; Fargate capacity;
// a disconnected agent), as opposed to a placement the cluster can never
// satisfy (ATTRIBUTE, LOCATION, unknown reasons).
func (f *RunTaskFailure) Capacity() bool {
	r := strings.ToUpper(f.Reason)
	switch {
	case strings.HasPrefix(r, "RESOURCE:"), r == "AGENT":
		return true
	case strings.Contains(r, "CAPACITY"):
		return true
	}
	return false
}

// Retryable is Capacity: the runner retries shortages with backoff.
func (f *RunTaskFailure) Retryable() bool { return f.Capacity() }

// classify turns an SDK error into a retryable or permanent one that
// unwraps to a fault category.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		// Transport failures: DNS, connection refused, TLS, timeouts.
		return &RetryableError{Err: err}
	}
	code := api.ErrorCode()
	switch code {
	case "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException":
		return &RetryableError{Err: fmt.Errorf("throttled by aws after every attempt: %w", err)}
	case "ServerException", "ServiceUnavailableException", "InternalFailure", "ServiceUnavailable", "InternalServerError":
		return &RetryableError{Err: err}
	case "ClusterNotFoundException", "ResourceNotFoundException", "ServiceNotFoundException":
		return &dispatch.Permanent{Err: fmt.Errorf("%w: %w", fault.ErrNotFound, err)}
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId",
		"ExpiredTokenException", "MissingAuthenticationTokenException", "IncompleteSignatureException", "SignatureDoesNotMatch":
		return &dispatch.Permanent{Err: fmt.Errorf("%w: %w", fault.ErrForbidden, err)}
	}
	if api.ErrorFault() == smithy.FaultServer {
		return &RetryableError{Err: err}
	}
	// ClientException, InvalidParameterException, PlatformUnknownException,
	// UnsupportedFeatureException, BlockedException and the like: the
	// request is wrong and stays wrong.
	return &dispatch.Permanent{Err: fmt.Errorf("%w: %w", fault.ErrInvalid, err)}
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
