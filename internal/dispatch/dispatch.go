// Package dispatch defines the executor seam: how the runner starts a job on
// a backend (local process, ECS task, EKS pod), learns its state, reads its
// log and cancels it. Executors live in sub-packages (local, ecs, eks) and all
// pass the conformance suite in dispatchtest.
//
// Idempotency: the runner derives a deterministic Key for every attempt
// (run id, unit path, attempt) and records it before it calls Start. Start
// with a key the backend has already seen must return the existing
// execution's handle rather than start a second one (ECS clientToken and
// startedBy, deterministic pod names, the local supervisor's state dir), so a
// crash between the call and recording its result never runs a job twice.
//
// Job outcomes are data (Status), not Go errors: a Go error means the call
// itself failed and may be retried.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Request is everything an executor needs to start one attempt of a job.
// Macros in the job spec are already expanded.
type Request struct {
	// Key is the idempotency key: the same key never starts two executions.
	// It is at most 64 characters of [a-z0-9-] so that it can be used as an
	// ECS clientToken/startedBy and inside a Kubernetes object name.
	Key          string
	RunID        string // generation id
	Jobnet       string // folder/name of the root jobnet
	Unit         string // unit path within the generation, e.g. "load/extract"
	Attempt      int
	BusinessDate string // YYYY-MM-DD
	Job          jobnet.Job
	// Env holds the Koyomi variables (KOYOMI_BUSINESS_DATE, KOYOMI_JOBNET,
	// KOYOMI_JOB, KOYOMI_RUN_ID, KOYOMI_ATTEMPT), the generation parameters
	// and the job's own env, all expanded.
	Env map[string]string
}

// Handle identifies a started execution. It is serialisable (stored with the
// job) so a restarted server can re-attach.
type Handle struct {
	// Executor is the job type that made the handle ("local", "ecs", "eks").
	Executor string `json:"executor"`
	// ID is the backend's identifier: a task ARN, namespace/pod, a local key.
	ID string `json:"id"`
	// Data is executor-specific detail (cluster, connection, log stream…).
	Data json.RawMessage `json:"data,omitempty"`
}

// State is where an execution stands, as the backend reports it.
type State string

const (
	// StatePending: accepted by the backend, not yet running (PROVISIONING,
	// PENDING, a pod being scheduled or pulling its image).
	StatePending State = "pending"
	// StateRunning: the job's process or container runs.
	StateRunning State = "running"
	// StateExited: it ended and ExitCode is set.
	StateExited State = "exited"
	// StateFailedToStart: the backend could not start it (RunTask failures,
	// image pull errors, unschedulable pods, a command that does not exist).
	StateFailedToStart State = "failed_to_start"
	// StateLost: the backend no longer knows it (ECS MISSING, pod deleted
	// behind our back, supervisor gone without a record).
	StateLost State = "lost"
	// StateCancelled: it ended because Cancel stopped it.
	StateCancelled State = "cancelled"
)

// IsTerminal reports whether the execution has ended.
func (s State) IsTerminal() bool {
	switch s {
	case StateExited, StateFailedToStart, StateLost, StateCancelled:
		return true
	}
	return false
}

// Status is a snapshot of one execution.
type Status struct {
	State    State
	ExitCode *int
	// Reason is the backend's explanation (stoppedReason, pod reason,
	// RESOURCE:MEMORY, signal).
	Reason    string
	StartedAt time.Time
	EndedAt   time.Time
}

// LogChunk is a piece of a job's log.
type LogChunk struct {
	Data []byte
	// Next is the cursor to pass to the next Logs call.
	Next string
	// More reports whether more data is already available past Next.
	More bool
	// Skipped counts the bytes between the cursor asked for and Data that
	// a LogTail left out.
	Skipped int64
}

// LogTailer is implemented by executors that can read a log from its end
// without reading what comes before (a local file). LogTail returns the log
// after cursor ("" = the beginning) when it holds at most limit bytes, else
// its last limit bytes or fewer, starting at a line, with Skipped set; Next
// is the end of what it read.
type LogTailer interface {
	LogTail(ctx context.Context, h Handle, cursor string, limit int) (LogChunk, error)
}

// Executor runs jobs on one backend. Implementations are safe for concurrent use.
type Executor interface {
	// Type names the job type the executor handles.
	Type() jobnet.JobType
	// Start starts the job, or returns the handle of the execution already
	// started with req.Key.
	Start(ctx context.Context, req Request) (Handle, error)
	// Status reports the execution's state.
	Status(ctx context.Context, h Handle) (Status, error)
	// Logs returns log output from cursor ("" = the beginning), at most limit bytes (0: executor default).
	Logs(ctx context.Context, h Handle, cursor string, limit int) (LogChunk, error)
	// Cancel stops the execution: a graceful stop, then a forced one after
	// grace. Cancelling an ended execution is not an error.
	Cancel(ctx context.Context, h Handle, grace time.Duration) error
}

// BatchStatuser is implemented by executors that can report many executions
// in few calls (ECS DescribeTasks takes up to 100 ARNs). The runner prefers it.
type BatchStatuser interface {
	Statuses(ctx context.Context, hs []Handle) ([]Status, error)
}

// Notifier is implemented by executors that learn by themselves when an
// execution changes state (a local job's exit, a pod watch event, a task
// state change). The runner subscribes once, before the first Start; fn is
// called with the changed execution's handle ID and, when the executor
// knows it, its new status (nil otherwise); it must not block. A
// notification makes the runner poll that execution at once instead of at
// its next poll interval, or, with a terminal status, record that status
// without asking Status again: an executor passes a terminal status only
// once it is what Status returns from then on.
type Notifier interface {
	Subscribe(fn func(handleID string, st *Status))
}

// ErrUnknownHandle means the executor cannot interpret a handle.
var ErrUnknownHandle = fmt.Errorf("dispatch: unknown handle: %w", fault.ErrNotFound)

// ErrNoExecutor means no executor is configured for a job type.
var ErrNoExecutor = fmt.Errorf("dispatch: no executor for job type: %w", fault.ErrInvalid)

// Registry maps job types to executors. It is built in main and passed down.
type Registry map[jobnet.JobType]Executor

// For returns the executor of a job type.
func (r Registry) For(t jobnet.JobType) (Executor, error) {
	if e, ok := r[t]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrNoExecutor, t)
}

// IsRetryable reports whether err is worth retrying later (a throttled or
// unavailable backend), as opposed to a permanent rejection.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}

// IsCapacity reports whether err is a start refused for want of capacity
// or for a full quota (no room on the cluster, Fargate capacity, a
// throttled account): worth trying again, within the job's capacity
// budget (jobnet.Job.CapacityBudget).
func IsCapacity(err error) bool {
	var c interface{ Capacity() bool }
	return errors.As(err, &c) && c.Capacity() && IsRetryable(err)
}

// Permanent wraps err to mark a start as rejected for good (bad parameters,
// unknown cluster): the runner ends the job as failed to start.
type Permanent struct{ Err error }

func (p *Permanent) Error() string   { return p.Err.Error() }
func (p *Permanent) Unwrap() error   { return p.Err }
func (p *Permanent) Retryable() bool { return false }

// KeyMaxLen is the longest idempotency key (see Request.Key).
const KeyMaxLen = 64

// CheckKey reports whether key is a valid idempotency key: 1 to KeyMaxLen
// characters of [a-z0-9-], starting with a letter or digit. The error
// unwraps to fault.ErrInvalid.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("dispatch: empty key: %w", fault.ErrInvalid)
	}
	if len(key) > KeyMaxLen {
		return fmt.Errorf("dispatch: key %q is longer than %d characters: %w", key, KeyMaxLen, fault.ErrInvalid)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return fmt.Errorf("dispatch: key %q: character %d (%q) is not one of [a-z0-9-]: %w", key, i+1, c, fault.ErrInvalid)
		}
	}
	return nil
}
