package ecs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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
		if why := unusable(err); why != "" {
			return &dispatch.Permanent{Err: fmt.Errorf("the connection is unusable (%s): %w: %w", why, category(why), err)}
		}
		// Passing transport failures: timeouts, resets, DNS servers that
		// do not answer.
		return &RetryableError{Err: err}
	}
	code := api.ErrorCode()
	switch code {
	case "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException":
		// A quota of the account: passes, within the capacity budget.
		return &CapacityError{Err: fmt.Errorf("throttled by aws after every attempt: %w", err)}
	case "ClientException":
		// A full quota (tasks in PROVISIONING, Fargate vCPUs) is a
		// ClientException too, and it passes.
		if quotaMessage(api.ErrorMessage()) {
			return &CapacityError{Err: err}
		}
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

// CapacityError is a rejection for a full quota or a lack of capacity
// that passes on its own (ECS's limit of tasks in PROVISIONING, Fargate's
// vCPU quota): retryable, within the job's capacity budget.
type CapacityError struct{ Err error }

func (e *CapacityError) Error() string   { return e.Err.Error() }
func (e *CapacityError) Unwrap() error   { return e.Err }
func (e *CapacityError) Retryable() bool { return true }
func (e *CapacityError) Capacity() bool  { return true }

// quotaMessage recognises ClientException messages about a full quota or
// missing capacity.
func quotaMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"provisioning", "capacity is unavailable", "reached the limit", "limit exceeded", "quota"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// unusable says why a transport failure means the connection cannot work
// as configured ("" when it may pass): a host name that does not exist, an
// endpoint where nothing listens, a certificate that does not verify, an
// endpoint URL that is not one, credentials that cannot be had.
func unusable(err error) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var signing *v4.SigningError
	switch {
	case errors.As(err, &signing), strings.Contains(err.Error(), "get credentials: "):
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return ""
		}
		return "no credentials"
	case errors.As(err, &dns) && dns.IsNotFound:
		return "host " + dns.Name + " does not exist"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at the endpoint"
	case errors.As(err, &cert), errors.As(err, &unknownAuthority), errors.As(err, &hostname):
		return "the endpoint's certificate does not verify"
	case strings.Contains(err.Error(), "unsupported protocol scheme"), strings.Contains(err.Error(), "invalid URL"):
		return "bad endpoint URL"
	}
	return ""
}

func category(why string) error {
	if why == "no credentials" {
		return fault.ErrForbidden
	}
	return fault.ErrInvalid
}

// noRetryUnusable keeps the SDK from retrying a call whose connection
// cannot work (see unusable), so such a job fails to start in seconds.
type noRetryUnusable struct{}

func (noRetryUnusable) IsErrorRetryable(err error) aws.Ternary {
	if unusable(err) != "" {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

func errorMessage(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorMessage()
	}
	return ""
}
