package alert

import (
	"errors"
	"time"
)

// Retry defaults.
const (
	// BackoffBaseDefault is the wait after the first failed attempt; each
	// further failure doubles it.
	BackoffBaseDefault = 30 * time.Second
	// BackoffMaxDefault caps the wait between attempts.
	BackoffMaxDefault = time.Hour
	// MaxAttemptsDefault is how many attempts a delivery gets before it
	// is failed.
	MaxAttemptsDefault = 12
	// FailingAfterDefault is how many consecutive failed attempts mark a
	// channel failing.
	FailingAfterDefault = 3
)

// Backoff is an exponential retry schedule.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay returns the wait after the given failed attempt (1-based):
// Base·2^(attempt−1), capped at Max.
func (b Backoff) Delay(attempt int) time.Duration {
	if b.Base <= 0 {
		b.Base = BackoffBaseDefault
	}
	if b.Max <= 0 {
		b.Max = BackoffMaxDefault
	}
	d := b.Base
	for i := 1; i < attempt; i++ {
		d *= 2
		if d >= b.Max || d <= 0 {
			return b.Max
		}
	}
	if d > b.Max {
		return b.Max
	}
	return d
}

// Retryable reports whether a send error may clear on a later attempt.
// Errors that do not say (no Retryable method) count as retryable: an
// unknown failure is retried until the attempts run out.
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return true
}

// RetryAfter returns the delay a channel asked for (Slack's 429
// Retry-After), or 0.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0
}
