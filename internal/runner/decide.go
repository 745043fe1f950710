package runner

import (
	"encoding/json"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// The pure decisions of a pass: what to do about each watched unit, which
// lane a call goes to, how an execution's end is judged and when it ended.
// The effects (store writes, executor calls) live in dispatch.go.

// watchAction is what the runner does about one watched unit in a pass.
type watchAction uint8

const (
	// actNone: nothing now (a call is in flight, or the next poll is later).
	actNone watchAction = iota
	// actWait: check a wait unit's target (watchWait).
	actWait
	// actStart: call Start with the recorded key (a dispatch without a
	// handle: re-attach after a crash, or a retry after a start error).
	actStart
	// actCancel: cancel the execution for Cause.
	actCancel
	// actPoll: ask the executor for the execution's status.
	actPoll
	// actLost: no executor knows the handle; the unit ends unknown.
	actLost
	// actKillAway: an operator killed a local job dispatched on another
	// host; it is recorded killed without a call, which could not reach it.
	actKillAway
)

// watchInput is what decideWatch knows about one unit.
type watchInput struct {
	Unit store.RunUnit
	Def  jobnet.Unit
	// InFlight: a call about the unit is out; its result is not recorded yet.
	InFlight bool
	// HasExecutor: an executor is registered for the handle's type.
	HasExecutor bool
	// Polled and NextPoll: the unit was polled and is due again at NextPoll.
	Polled   bool
	NextPoll time.Time
	// Hinted: the executor notified a change of the execution.
	Hinted bool
	// Away: a local job dispatched on another host (store.RunUnit.HostID).
	Away bool
}

// watchDecision is decideWatch's answer: an action, the cancel cause for
// actCancel, and a time to wake for this unit (zero: none).
type watchDecision struct {
	Action watchAction
	Cause  string
	Wake   time.Time
}

// decideWatch decides what to do about one starting or running unit.
func decideWatch(in watchInput, now time.Time) watchDecision {
	u := in.Unit
	if in.InFlight {
		return watchDecision{}
	}
	if in.Def.Kind == jobnet.UnitWait {
		return watchDecision{Action: actWait}
	}
	if in.Away {
		if u.KillRequested {
			return watchDecision{Action: actKillAway}
		}
		return watchDecision{}
	}
	if u.Handle == nil {
		if u.State != jobrun.StateStarting {
			return watchDecision{}
		}
		if u.NotBefore != nil && u.NotBefore.After(now) {
			return watchDecision{Wake: *u.NotBefore}
		}
		return watchDecision{Action: actStart}
	}
	if !in.HasExecutor {
		return watchDecision{Action: actLost}
	}
	var wake time.Time
	if u.CancelCause == "" {
		if u.KillRequested {
			return watchDecision{Action: actCancel, Cause: store.CancelKill}
		}
		if t := in.Def.Job; t != nil && t.Timeout != nil && t.Timeout.After > 0 && u.StartedAt != nil {
			deadline := u.StartedAt.Add(t.Timeout.After.D())
			if !now.Before(deadline) {
				return watchDecision{Action: actCancel, Cause: store.CancelTimeout}
			}
			wake = deadline
		}
	}
	if in.Hinted || !in.Polled || !now.Before(in.NextPoll) {
		return watchDecision{Action: actPoll, Wake: wake}
	}
	return watchDecision{Wake: wake}
}

// toldSuffices decides whether a terminal status an executor notified can
// be recorded as it is, without a call to the executor: not when the end's
// alert carries the log's tail, which is read from the executor.
func toldSuffices(def jobnet.Unit, u store.RunUnit, st dispatch.Status) bool {
	return !alertsWithLog(endVerdict(def, u, st).State)
}

// startLane is the lane of a job's Start: its executor and the connection
// its spec names (ECS and EKS jobs; empty: the executor's default).
func startLane(job jobnet.Job) laneKey {
	k := laneKey{executor: job.Type, kind: laneStart}
	switch {
	case job.ECS != nil:
		k.conn = job.ECS.Connection
	case job.EKS != nil:
		k.conn = job.EKS.Connection
	}
	return k
}

// watchLane is the lane of the calls about a started execution: the
// handle's executor and the connection its data names (the ECS and EKS
// executors record it as "connection").
func watchLane(h dispatch.Handle) laneKey {
	k := laneKey{executor: jobnet.JobType(h.Executor), kind: laneWatch}
	if len(h.Data) > 0 {
		var d struct {
			Connection string `json:"connection"`
		}
		if json.Unmarshal(h.Data, &d) == nil {
			k.conn = d.Connection
		}
	}
	return k
}

// verdict is how an execution that ended is recorded.
type verdict struct {
	State    jobrun.JobState
	Cause    jobrun.Cause
	Exit     *int
	Reason   string
	TimedOut bool
}

// endVerdict judges an execution that ended: an operator's kill and a
// timeout (recorded as the unit's cancel cause) win over the exit code, the
// job's end judgment maps the exit code, and the backend's reason is kept.
func endVerdict(def jobnet.Unit, u store.RunUnit, st dispatch.Status) verdict {
	switch {
	case u.CancelCause == store.CancelKill && st.State != dispatch.StateFailedToStart:
		return verdict{State: jobrun.StateKilled, Cause: jobrun.CauseKill, Exit: st.ExitCode, Reason: "killed by an operator"}
	case u.CancelCause == store.CancelTimeout && st.State != dispatch.StateFailedToStart:
		var t *jobnet.Timeout
		if def.Job != nil {
			t = def.Job.Timeout
		}
		state, err := jobrun.TimeoutState(t)
		if err != nil {
			state = jobrun.StateEndedAbnormal
		}
		reason := "timed out"
		if t != nil {
			reason += " after " + t.After.String()
		}
		return verdict{State: state, Cause: jobrun.CauseTimeout, Exit: st.ExitCode, Reason: reason, TimedOut: true}
	}
	switch st.State {
	case dispatch.StateExited:
		code := -1
		if st.ExitCode != nil {
			code = *st.ExitCode
		}
		var end jobnet.EndJudgment
		if def.Job != nil {
			end = def.Job.End
		}
		return verdict{State: jobrun.Judge(end, code), Cause: jobrun.CauseExited, Exit: st.ExitCode, Reason: st.Reason}
	case dispatch.StateFailedToStart:
		return verdict{State: jobrun.StateFailedToStart, Cause: jobrun.CauseStartFailed, Exit: st.ExitCode, Reason: st.Reason}
	case dispatch.StateCancelled:
		return verdict{State: jobrun.StateKilled, Cause: jobrun.CauseKill, Exit: st.ExitCode, Reason: cmpOr(st.Reason, "cancelled")}
	default:
		return verdict{State: jobrun.StateUnknownEnd, Cause: jobrun.CauseLost, Exit: st.ExitCode, Reason: cmpOr(st.Reason, "the executor lost the job")}
	}
}

// alertsWithLog reports whether a unit ending in state raises an alert that
// carries the tail of the job's log.
func alertsWithLog(state jobrun.JobState) bool {
	switch state {
	case jobrun.StateEndedAbnormal, jobrun.StateUnknownEnd, jobrun.StateEndedWarning, jobrun.StateFailedToStart:
		return true
	}
	return false
}

// endTime is when an execution ended: the executor's record of the end
// (Status.EndedAt, e.g. the local exit record or the ECS stoppedAt) when it
// has one, else when the runner noticed (now); never before the unit's
// recorded start nor after now.
func endTime(st dispatch.Status, startedAt *time.Time, now time.Time) time.Time {
	at := st.EndedAt
	if at.IsZero() || at.After(now) {
		return now
	}
	if startedAt != nil && at.Before(*startedAt) {
		return *startedAt
	}
	return at
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
