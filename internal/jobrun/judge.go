package jobrun

import (
	"cmp"
	"fmt"
	"strconv"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Judge maps a job's exit code to its end state. With thresholds (the zero
// value: 0/0) an exit code ≤ the warning threshold ends normally, ≤ the
// abnormal threshold with warning, greater abnormally. A negative exit code
// (the process died by a signal) always ends abnormally, and an exit code
// above the abnormal threshold is abnormal even when the warning threshold is
// higher. Always-normal ends every exit normally.
func Judge(end jobnet.EndJudgment, exitCode int) JobState {
	if end.Mode == jobnet.EndAlwaysNormal {
		return StateEndedNormal
	}
	switch {
	case exitCode < 0 || exitCode > end.AbnormalThreshold:
		return StateEndedAbnormal
	case exitCode > end.WarningThreshold:
		return StateEndedWarning
	}
	return StateEndedNormal
}

// TimeoutState returns the end state of a job killed by its timeout: EndAs
// "abnormal" (the default), "warning" or "normal".
func TimeoutState(t *jobnet.Timeout) (JobState, error) {
	if t == nil {
		return StateEndedAbnormal, nil
	}
	switch t.EndAs {
	case "", "abnormal", string(StateEndedAbnormal):
		return StateEndedAbnormal, nil
	case "warning", string(StateEndedWarning):
		return StateEndedWarning, nil
	case "normal", string(StateEndedNormal):
		return StateEndedNormal, nil
	}
	return StateEndedAbnormal, fmt.Errorf("timeout.end_as: unknown end state %q, want abnormal, warning or normal: %w", t.EndAs, fault.ErrInvalid)
}

// OutcomeOf names the retry outcome of an attempt that ended in state.
// timedOut marks an attempt its timeout killed. ok is false for outcomes no
// retry policy reacts to (normal and warning ends, operator kills).
func OutcomeOf(state JobState, timedOut bool) (jobnet.Outcome, bool) {
	if timedOut {
		return jobnet.OutcomeTimeout, true
	}
	switch state {
	case StateEndedAbnormal:
		return jobnet.OutcomeAbnormal, true
	case StateFailedToStart:
		return jobnet.OutcomeFailedToStart, true
	case StateUnknownEnd:
		return jobnet.OutcomeUnknown, true
	}
	return "", false
}

// RetryDecision says whether an attempt that ended with outcome is retried and
// when. try is the 1-based try number since the unit last started fresh (1 for
// the first try of a generation or of a rerun; Attempt in UnitRun keeps
// counting across reruns, try does not). The policy allows r.Count retries,
// so tries 1..Count are retried; the retry is due Interval after endedAt.
// Without On, abnormal ends and failures to start are retried.
func RetryDecision(r *jobnet.Retry, outcome jobnet.Outcome, try int, endedAt time.Time) (bool, time.Time) {
	if r == nil || r.Count <= 0 || try > r.Count || try < 1 {
		return false, time.Time{}
	}
	on := r.On
	if len(on) == 0 {
		on = []jobnet.Outcome{jobnet.OutcomeAbnormal, jobnet.OutcomeFailedToStart}
	}
	for _, o := range on {
		if o == outcome {
			return true, endedAt.Add(r.Interval.D())
		}
	}
	return false, time.Time{}
}

// JudgmentInput is what a judgment condition is evaluated against.
type JudgmentInput struct {
	// ExitCode is the exit code of the judgment's predecessor job (exit_code).
	ExitCode *int
	// Vars are the generation's variables (variable; macros in Path and Value).
	Vars map[string]string
	// Stat reports whether a path exists (file_exists). The caller supplies it
	// so the package stays free of I/O.
	Stat func(path string) bool
}

// EvalJudgment evaluates a judgment condition. Ops are eq, ne, lt, le, gt, ge
// (empty means eq). exit_code compares the predecessor's exit code with Value
// as integers. variable compares the variable with Value (macros expand in
// Value) numerically when both parse as numbers, else as strings (byte
// order). file_exists expands macros in Path and asks Stat. A missing exit
// code, variable or Stat, a bad op or value is an error (fault.ErrInvalid):
// the judgment unit then ends abnormally.
func EvalJudgment(j jobnet.Judgment, in JudgmentInput) (bool, error) {
	switch j.Kind {
	case jobnet.JudgeExitCode:
		if in.ExitCode == nil {
			return false, fmt.Errorf("judge exit code: the predecessor has no exit code: %w", fault.ErrInvalid)
		}
		want, err := strconv.Atoi(j.Value)
		if err != nil {
			return false, fmt.Errorf("judge exit code: value %q is not an integer: %w", j.Value, fault.ErrInvalid)
		}
		return compare(j.Op, cmp.Compare(*in.ExitCode, want))
	case jobnet.JudgeVariable:
		got, ok := in.Vars[j.Variable]
		if !ok {
			return false, fmt.Errorf("judge variable: unknown variable %q: %w", j.Variable, fault.ErrInvalid)
		}
		want, err := Expand(j.Value, in.Vars)
		if err != nil {
			return false, fmt.Errorf("judge variable %q: value: %w", j.Variable, err)
		}
		a, errA := strconv.ParseFloat(got, 64)
		b, errB := strconv.ParseFloat(want, 64)
		if errA == nil && errB == nil {
			return compare(j.Op, cmp.Compare(a, b))
		}
		return compare(j.Op, cmp.Compare(got, want))
	case jobnet.JudgeFileExists:
		if in.Stat == nil {
			return false, fmt.Errorf("judge file exists: no stat function: %w", fault.ErrInvalid)
		}
		p, err := Expand(j.Path, in.Vars)
		if err != nil {
			return false, fmt.Errorf("judge file exists: path: %w", err)
		}
		if p == "" {
			return false, fmt.Errorf("judge file exists: empty path: %w", fault.ErrInvalid)
		}
		return in.Stat(p), nil
	}
	return false, fmt.Errorf("judge: unknown kind %q: %w", j.Kind, fault.ErrInvalid)
}

func compare(op string, c int) (bool, error) {
	switch op {
	case "", "eq":
		return c == 0, nil
	case "ne":
		return c != 0, nil
	case "lt":
		return c < 0, nil
	case "le":
		return c <= 0, nil
	case "gt":
		return c > 0, nil
	case "ge":
		return c >= 0, nil
	}
	return false, fmt.Errorf("judge: unknown op %q, want eq, ne, lt, le, gt or ge: %w", op, fault.ErrInvalid)
}

// CapacityVerdict is what to do after a start was refused for want of
// capacity or for a full quota.
type CapacityVerdict struct {
	// Retry: try again at At; else the attempt fails to start.
	Retry bool
	At    time.Time
	// Reason is what the unit and the event show: the try, the budget and
	// the backend's reason.
	Reason string
}

// CapacityDecision decides after the refusedTries-th refused try (1-based)
// at now: within the budget (b.Retries retries after the first try) the
// start is tried again b.Interval later; after the last it fails to start
// with the last reason.
func CapacityDecision(b jobnet.CapacityBudget, refusedTries int, now time.Time, reason string) CapacityVerdict {
	total := b.Retries + 1
	if refusedTries >= total {
		return CapacityVerdict{Reason: fmt.Sprintf("no capacity after %d tries over %s (capacity_retries %d, every %s); last: %s",
			refusedTries, (time.Duration(refusedTries-1) * b.Interval).String(), b.Retries, b.Interval, reason)}
	}
	at := now.Add(b.Interval)
	return CapacityVerdict{Retry: true, At: at, Reason: fmt.Sprintf("waiting for capacity: try %d of %d refused; next try at %s: %s",
		refusedTries, total, at.UTC().Format(time.RFC3339), reason)}
}
