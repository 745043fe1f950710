package jobrun

import (
	"fmt"
	"strconv"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Cause says why a state changes. The same target state may be legal for one
// cause and not another (an operator may mark a held unit ended normally, the
// executor may not report it exited).
type Cause string

const (
	// CauseEvaluate: the engine (Evaluate) queued, bypassed or derived the
	// state (nested jobnets, generation end).
	CauseEvaluate Cause = "evaluate"
	// CauseJudged: a judgment unit's condition was evaluated.
	CauseJudged Cause = "judged"
	// CauseDispatch: the runner claimed a queued unit and records its dispatch key.
	CauseDispatch Cause = "dispatch"
	// CauseStarted: the executor reports the job running (a wait unit starts watching).
	CauseStarted Cause = "started"
	// CauseExited: the job exited; the end judgment chose the state.
	CauseExited Cause = "exited"
	// CauseTimeout: the job ran past its timeout, was killed and ends as the
	// timeout's end state.
	CauseTimeout Cause = "timeout"
	// CauseStartFailed: the executor could not start the job.
	CauseStartFailed Cause = "start_failed"
	// CauseLost: the executor lost the job.
	CauseLost Cause = "lost"
	// CauseRetry: the attempt ended with an outcome its retry policy retries;
	// the unit waits for the retry time instead of ending.
	CauseRetry Cause = "retry"
	// CauseHold: an operator holds the unit or generation.
	CauseHold Cause = "hold"
	// CauseRelease: an operator releases it.
	CauseRelease Cause = "release"
	// CauseKill: an operator kills it.
	CauseKill Cause = "kill"
	// CauseRerun: an operator reruns it (PlanRerun chose it).
	CauseRerun Cause = "rerun"
	// CauseMark: an operator marks a unit ended normally or bypassed; for a
	// generation, its end state is judged again after such a mark.
	CauseMark Cause = "mark"
	// CauseConfirm: the planner confirms a planned generation for its business day.
	CauseConfirm Cause = "confirm"
	// CauseStart: the generation's start time came.
	CauseStart Cause = "start"
	// CauseCancel: an operator cancels a generation that has not started.
	CauseCancel Cause = "cancel"
	// CauseSkip: the overlap or catch-up policy skips a generation.
	CauseSkip Cause = "skip"
)

type jobMove struct {
	from, to JobState
	cause    Cause
}

type genMove struct {
	from, to GenState
	cause    Cause
}

func jobMoves() map[jobMove]bool {
	m := map[jobMove]bool{}
	add := func(c Cause, from []JobState, to ...JobState) {
		for _, f := range from {
			for _, t := range to {
				m[jobMove{f, t, c}] = true
			}
		}
	}
	ends := []JobState{StateEndedNormal, StateEndedWarning, StateEndedAbnormal}
	derived := []JobState{StateEndedNormal, StateEndedWarning, StateEndedAbnormal, StateKilled}
	add(CauseEvaluate, []JobState{StateWaiting}, StateQueued, StateBypassed, StateRunning)
	add(CauseEvaluate, []JobState{StateWaiting, StateRunning}, derived...)
	add(CauseEvaluate, []JobState{StateHeld}, StateBypassed)
	add(CauseJudged, []JobState{StateWaiting}, StateEndedNormal, StateEndedAbnormal)
	add(CauseDispatch, []JobState{StateQueued}, StateStarting)
	add(CauseStarted, []JobState{StateQueued, StateStarting}, StateRunning)
	add(CauseExited, []JobState{StateStarting, StateRunning}, ends...)
	add(CauseTimeout, []JobState{StateStarting, StateRunning}, ends...)
	// A unit is recorded running once the backend accepted the execution; a
	// task or pod that then never runs its container (image pull errors,
	// TaskFailedToStart, unschedulable) failed to start.
	add(CauseStartFailed, []JobState{StateQueued, StateStarting, StateRunning}, StateFailedToStart)
	add(CauseLost, []JobState{StateStarting, StateRunning}, StateUnknownEnd)
	add(CauseRetry, []JobState{StateQueued, StateStarting, StateRunning}, StateWaiting)
	add(CauseHold, []JobState{StateWaiting, StateQueued}, StateHeld)
	add(CauseRelease, []JobState{StateHeld}, StateWaiting)
	// An operator can kill or mark a unit in any state that has not ended.
	add(CauseKill, []JobState{StateWaiting, StateHeld, StateQueued, StateStarting, StateRunning}, StateKilled)
	add(CauseRerun, []JobState{StateQueued, StateEndedNormal, StateEndedWarning, StateEndedAbnormal,
		StateKilled, StateFailedToStart, StateUnknownEnd, StateBypassed}, StateWaiting)
	add(CauseMark, []JobState{StateWaiting, StateHeld, StateQueued, StateStarting, StateRunning, StateEndedWarning, StateEndedAbnormal,
		StateKilled, StateFailedToStart, StateUnknownEnd, StateBypassed}, StateEndedNormal)
	add(CauseMark, []JobState{StateWaiting, StateHeld, StateQueued, StateStarting, StateRunning, StateEndedAbnormal,
		StateKilled, StateFailedToStart, StateUnknownEnd}, StateBypassed)
	return m
}

func genMoves() map[genMove]bool {
	m := map[genMove]bool{}
	add := func(c Cause, from []GenState, to ...GenState) {
		for _, f := range from {
			for _, t := range to {
				if f != t {
					m[genMove{f, t, c}] = true
				}
			}
		}
	}
	ran := []GenState{GenEndedNormal, GenEndedWarning, GenEndedAbnormal, GenKilled}
	add(CauseConfirm, []GenState{GenPlanned}, GenWaiting)
	add(CauseStart, []GenState{GenWaiting}, GenRunning)
	add(CauseHold, []GenState{GenPlanned, GenWaiting, GenRunning}, GenHeld)
	add(CauseRelease, []GenState{GenHeld}, GenWaiting, GenRunning)
	add(CauseCancel, []GenState{GenPlanned, GenWaiting, GenHeld}, GenNotExecuted)
	add(CauseSkip, []GenState{GenPlanned, GenWaiting, GenHeld}, GenSkipped)
	add(CauseEvaluate, []GenState{GenRunning, GenHeld}, ran...)
	add(CauseKill, []GenState{GenRunning, GenHeld}, GenKilled)
	add(CauseRerun, ran, GenRunning)
	add(CauseMark, ran, ran...)
	return m
}

// The tables are data built once; they are never modified.
var (
	jobTable = jobMoves()
	genTable = genMoves()
)

// CanTransition reports whether a unit may move from one state to another for
// the given cause. See doc.go for the diagram.
func CanTransition(from, to JobState, cause Cause) bool {
	return jobTable[jobMove{from, to, cause}]
}

// Transition checks a unit's move and returns the new state. unit names the
// unit in the error. An unknown state or cause is fault.ErrInvalid; a move the
// table does not allow is fault.ErrConflict: `cannot rerun unit "load": it is running`.
func Transition(unit string, from, to JobState, cause Cause) (JobState, error) {
	if !from.Valid() || !to.Valid() {
		return from, fmt.Errorf("move unit %q from %q to %q: %w", unit, from, to, fault.ErrInvalid)
	}
	if !cause.valid() {
		return from, fmt.Errorf("move unit %q: unknown cause %q: %w", unit, cause, fault.ErrInvalid)
	}
	if CanTransition(from, to, cause) {
		return to, nil
	}
	return from, fmt.Errorf("cannot %s: %s: %w", cause.verb("unit "+quote(unit), string(to)), from.phrase(), fault.ErrConflict)
}

// CanTransitionGen reports whether a generation may move from one state to
// another for the given cause.
func CanTransitionGen(from, to GenState, cause Cause) bool {
	return genTable[genMove{from, to, cause}]
}

// TransitionGen checks a generation's move and returns the new state. runID
// names the generation in the error, which unwraps to fault.ErrConflict
// (`cannot kill generation "r-17": it ended normally`) or fault.ErrInvalid.
func TransitionGen(runID string, from, to GenState, cause Cause) (GenState, error) {
	if !from.Valid() || !to.Valid() {
		return from, fmt.Errorf("move generation %q from %q to %q: %w", runID, from, to, fault.ErrInvalid)
	}
	if !cause.valid() {
		return from, fmt.Errorf("move generation %q: unknown cause %q: %w", runID, cause, fault.ErrInvalid)
	}
	if CanTransitionGen(from, to, cause) {
		return to, nil
	}
	return from, fmt.Errorf("cannot %s: %s: %w", cause.verb("generation "+quote(runID), string(to)), from.phrase(), fault.ErrConflict)
}

// Causes lists every cause.
var Causes = []Cause{
	CauseEvaluate, CauseJudged, CauseDispatch, CauseStarted, CauseExited, CauseTimeout,
	CauseStartFailed, CauseLost, CauseRetry, CauseHold, CauseRelease, CauseKill, CauseRerun,
	CauseMark, CauseConfirm, CauseStart, CauseCancel, CauseSkip,
}

func (c Cause) valid() bool {
	for _, v := range Causes {
		if c == v {
			return true
		}
	}
	return false
}

// verb phrases the refused request: "rerun unit \"load\"", "mark unit \"load\" ended_normal".
func (c Cause) verb(subject, to string) string {
	switch c {
	case CauseEvaluate:
		return "move " + subject + " to " + to
	case CauseJudged:
		return "judge " + subject
	case CauseDispatch:
		return "dispatch " + subject
	case CauseStarted:
		return "record " + subject + " as started"
	case CauseExited:
		return "end " + subject + " as " + to
	case CauseTimeout:
		return "time out " + subject
	case CauseStartFailed:
		return "record " + subject + " as failed to start"
	case CauseLost:
		return "record " + subject + " as lost"
	case CauseRetry:
		return "retry " + subject
	case CauseMark:
		return "mark " + subject + " " + to
	case CauseStart:
		return "start " + subject
	}
	return string(c) + " " + subject
}

func quote(s string) string { return strconv.Quote(s) }
