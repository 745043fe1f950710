package jobrun

// JobState is the state of one unit (job, judgment, wait or nested jobnet) in
// one generation.
type JobState string

const (
	// StateWaiting: the unit waits for its predecessors, for its nested
	// jobnet to start, or for a retry's NotBefore time.
	StateWaiting JobState = "waiting"
	// StateHeld: an operator (or the unit's hold attribute) holds the unit; it
	// does not start until released.
	StateHeld JobState = "held"
	// StateQueued: every incoming edge fired; the unit waits for a slot.
	StateQueued JobState = "queued"
	// StateStarting: the dispatch is in flight; its idempotency key is recorded.
	StateStarting JobState = "starting"
	// StateRunning: the executor reports the job running (for a wait unit: the
	// runner watches the other jobnet; for a nested jobnet: its body runs).
	StateRunning JobState = "running"
	// StateEndedNormal: ended normally by its end judgment (or marked so).
	StateEndedNormal JobState = "ended_normal"
	// StateEndedWarning: ended with warning by its end judgment.
	StateEndedWarning JobState = "ended_warning"
	// StateEndedAbnormal: ended abnormally by its end judgment.
	StateEndedAbnormal JobState = "ended_abnormal"
	// StateKilled: an operator killed it. Counts as abnormal for edges.
	StateKilled JobState = "killed"
	// StateFailedToStart: the executor could not start it. Counts as abnormal.
	StateFailedToStart JobState = "failed_to_start"
	// StateUnknownEnd: the executor lost it; its outcome is unknown. Counts as abnormal.
	StateUnknownEnd JobState = "unknown_end"
	// StateBypassed: it did not run because its incoming edges can no longer
	// fire (or an operator marked it so); its successors are bypassed too.
	StateBypassed JobState = "bypassed"
)

// JobStates lists every job state in lifecycle order.
var JobStates = []JobState{
	StateWaiting, StateHeld, StateQueued, StateStarting, StateRunning,
	StateEndedNormal, StateEndedWarning, StateEndedAbnormal, StateKilled,
	StateFailedToStart, StateUnknownEnd, StateBypassed,
}

// Valid reports whether s is one of the defined states.
func (s JobState) Valid() bool {
	switch s {
	case StateWaiting, StateHeld, StateQueued, StateStarting, StateRunning,
		StateEndedNormal, StateEndedWarning, StateEndedAbnormal, StateKilled,
		StateFailedToStart, StateUnknownEnd, StateBypassed:
		return true
	}
	return false
}

// IsTerminal reports whether the unit has ended (in any way, bypassed included).
func (s JobState) IsTerminal() bool {
	switch s {
	case StateEndedNormal, StateEndedWarning, StateEndedAbnormal, StateKilled,
		StateFailedToStart, StateUnknownEnd, StateBypassed:
		return true
	}
	return false
}

// IsActive reports whether the unit holds or is about to hold a slot: queued,
// starting or running.
func (s JobState) IsActive() bool {
	return s == StateQueued || s == StateStarting || s == StateRunning
}

// IsPending reports whether the unit has not been released to run yet:
// waiting or held.
func (s JobState) IsPending() bool { return s == StateWaiting || s == StateHeld }

// EndedOK reports whether the unit ended normally or with warning: the states
// after which normal edges fire.
func (s JobState) EndedOK() bool { return s == StateEndedNormal || s == StateEndedWarning }

// EndedAbnormally reports whether the unit ended abnormally in the wide sense:
// ended abnormally, killed, failed to start or unknown end. Recovery edges
// fire after these states, and they make the generation end abnormally.
func (s JobState) EndedAbnormally() bool {
	switch s {
	case StateEndedAbnormal, StateKilled, StateFailedToStart, StateUnknownEnd:
		return true
	}
	return false
}

// phrase describes s for error messages: "it is running", "it ended normally".
func (s JobState) phrase() string {
	switch s {
	case StateWaiting:
		return "it is waiting"
	case StateHeld:
		return "it is held"
	case StateQueued:
		return "it is queued"
	case StateStarting:
		return "it is starting"
	case StateRunning:
		return "it is running"
	case StateEndedNormal:
		return "it ended normally"
	case StateEndedWarning:
		return "it ended with warning"
	case StateEndedAbnormal:
		return "it ended abnormally"
	case StateKilled:
		return "it was killed"
	case StateFailedToStart:
		return "it failed to start"
	case StateUnknownEnd:
		return "its end is unknown"
	case StateBypassed:
		return "it was bypassed"
	}
	return "its state " + quote(string(s)) + " is unknown"
}

// GenState is the state of a generation (one run of a root jobnet).
type GenState string

const (
	// GenPlanned: the planner created it; it is not yet confirmed for its business day.
	GenPlanned GenState = "planned"
	// GenWaiting: confirmed; waiting for its start time (or for the previous
	// generation under the "wait" overlap policy).
	GenWaiting GenState = "waiting"
	// GenHeld: an operator holds it. Before its start it does not start; while
	// it runs, no further unit is queued (units in flight continue).
	GenHeld GenState = "held"
	// GenRunning: started; at least one unit has not ended.
	GenRunning GenState = "running"
	// GenEndedNormal: every unit ended normally or was bypassed.
	GenEndedNormal GenState = "ended_normal"
	// GenEndedWarning: some unit ended with warning, none abnormally.
	GenEndedWarning GenState = "ended_warning"
	// GenEndedAbnormal: some unit ended abnormally, failed to start or has an
	// unknown end, even if its recovery units ran.
	GenEndedAbnormal GenState = "ended_abnormal"
	// GenKilled: an operator killed the generation, or killed a unit while no
	// unit ended abnormally.
	GenKilled GenState = "killed"
	// GenSkipped: not run because of the overlap or catch-up policy.
	GenSkipped GenState = "skipped"
	// GenNotExecuted: cancelled by an operator before it started.
	GenNotExecuted GenState = "not_executed"
)

// GenStates lists every generation state in lifecycle order.
var GenStates = []GenState{
	GenPlanned, GenWaiting, GenHeld, GenRunning, GenEndedNormal, GenEndedWarning,
	GenEndedAbnormal, GenKilled, GenSkipped, GenNotExecuted,
}

// Valid reports whether s is one of the defined states.
func (s GenState) Valid() bool {
	for _, v := range GenStates {
		if s == v {
			return true
		}
	}
	return false
}

// IsTerminal reports whether the generation has ended, ran or not.
func (s GenState) IsTerminal() bool {
	switch s {
	case GenEndedNormal, GenEndedWarning, GenEndedAbnormal, GenKilled, GenSkipped, GenNotExecuted:
		return true
	}
	return false
}

// IsActive reports whether the generation is running.
func (s GenState) IsActive() bool { return s == GenRunning }

// IsPending reports whether the generation has not started: planned, waiting or held.
func (s GenState) IsPending() bool { return s == GenPlanned || s == GenWaiting || s == GenHeld }

// CanKillGen reports whether an operator may kill a generation: only one
// that has started (a held one included) and has not ended; one that has
// not started is cancelled instead.
func CanKillGen(s GenState, started bool) bool {
	return started && CanTransitionGen(s, GenKilled, CauseKill)
}

// EndedOK reports whether the generation ended normally or with warning.
func (s GenState) EndedOK() bool { return s == GenEndedNormal || s == GenEndedWarning }

// Ran reports whether the generation ended after running (not skipped or cancelled).
func (s GenState) Ran() bool {
	return s == GenEndedNormal || s == GenEndedWarning || s == GenEndedAbnormal || s == GenKilled
}

func (s GenState) phrase() string {
	switch s {
	case GenPlanned:
		return "it is planned"
	case GenWaiting:
		return "it is waiting for its start time"
	case GenHeld:
		return "it is held"
	case GenRunning:
		return "it is running"
	case GenEndedNormal:
		return "it ended normally"
	case GenEndedWarning:
		return "it ended with warning"
	case GenEndedAbnormal:
		return "it ended abnormally"
	case GenKilled:
		return "it was killed"
	case GenSkipped:
		return "it was skipped"
	case GenNotExecuted:
		return "it was cancelled"
	}
	return "its state " + quote(string(s)) + " is unknown"
}

// Flags are the delay flags of a unit or generation. They are not states: a
// delayed job keeps running.
type Flags struct {
	StartDelayed bool `json:"start_delayed,omitempty"`
	EndDelayed   bool `json:"end_delayed,omitempty"`
}
