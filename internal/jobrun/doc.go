// Package jobrun is the pure core of the run engine: unit and generation
// states and their transition tables, end judgment, graph evaluation (which
// units become ready or bypassed), judgment conditions, retries, delay
// monitoring, rerun planning, variables and macros, and dispatch keys. It
// does no I/O and reads no clock: now is a parameter. The store persists
// what it decides as guarded updates; the runner and scheduler drive it.
//
// # Unit states
//
//	           hold            release
//	waiting ────────► held ───────────► waiting
//	   │ evaluate (edges fired)   │ evaluate (edges dead)
//	   ▼                          ▼
//	queued ──dispatch──► starting ──started──► running
//	   │                    │                     │
//	   │ start_failed ──────┴─► failed_to_start ◄──┤ start_failed (never ran)
//	   │ kill ──────────────┴──────► killed ◄──────┤ kill
//	   │                    └─ lost ─► unknown_end ◄┤ lost
//	   │                    └─ exited ─────────────►├─► ended_normal | ended_warning | ended_abnormal
//	   │ retry (queued, starting, running) ─► waiting (NotBefore = retry time)
//	waiting/held ─evaluate (edges dead, or enclosing jobnet ended)─► bypassed
//	waiting ─judged─► ended_normal (with result) | ended_abnormal (cannot evaluate)
//	waiting ─evaluate─► running ─evaluate─► ended_* | killed   (nested jobnet units, derived)
//	ended_* | killed | failed_to_start | unknown_end | bypassed | queued ─rerun─► waiting
//	waiting | held ─kill─► killed
//	waiting | held | queued | starting | running | ended (not normal) ─mark─► ended_normal
//	waiting | held | queued | starting | running | abnormal ends ─mark─► bypassed
//
// A unit is running from the moment its backend accepted the execution (a
// task ARN, a pod), before the container runs. An execution that then never
// runs its container (ECS TaskFailedToStart or CannotPullContainerError, a
// pod with InvalidImageName or ImagePullBackOff, a pod unschedulable past its
// limit) failed to start, so start_failed also leaves running: the record
// says the job's code never ran, which is what an operator needs to know
// before a rerun. An operator can kill or mark a unit in any state that has
// not ended: killing a unit that has not started ends it killed at once;
// marking a starting or running unit ends it as marked (ops asks its
// execution to stop first).
//
// The table in transition.go is authoritative; CanTransition and Transition
// check (from, to, cause). A refused move is fault.ErrConflict with a message
// an operator can read: `cannot rerun unit "load": it is running`.
// Flags (start delayed, end delayed) are booleans beside the state.
//
// # Generation states
//
//	planned ─confirm─► waiting ─start─► running ─evaluate─► ended_normal | ended_warning | ended_abnormal | killed
//	   │ hold             │ hold          │ hold ▲ release      ▲ kill            │ rerun
//	   ▼                  ▼               ▼      │              │                 ▼
//	  held ◄──────────── held ──────────► held ─┘──────────────┘             running
//	planned | waiting | held ─cancel─► not_executed      ─skip─► skipped
//	ended_* | killed ─mark─► another ended state (judged again after an operator's mark)
//
// Release moves a held generation to waiting if it had not started and to
// running if it had; the caller knows which. While a generation is held the
// runner applies no Ready from Evaluate (units in flight go on, and their
// ends may still end the generation).
//
// # Edges and readiness
//
// A unit waits for all its incoming edges. normal fires after its predecessor
// ended normally or with warning (a nested jobnet: its derived state); recovery
// fires after ended abnormally, killed, failed to start or unknown end (all
// four count as abnormal); true/false fire after a judgment ended normally
// with that result. A judgment an operator marked ended normally has no
// result and fires only its normal edges. Nothing fires after bypassed. A
// unit without incoming edges is ready when its net starts (the generation,
// or its enclosing nested jobnet). Once one incoming edge can no longer fire
// the unit is bypassed, even while others still wait, and so, in the same
// evaluation, are its successors transitively. Held units are never queued;
// they are bypassed when their edges die, and otherwise keep the generation
// running until released. A waiting unit with a future NotBefore (a retry
// interval) is not queued; Step.Wake says when to evaluate again.
// Job and wait units become Ready (→ queued); judgment units are returned in
// Judge for the caller to evaluate (JudgmentDue.Resolve, with the variables
// and a stat function) and end with CauseJudged. Wait units are queued like
// jobs; the runner watches the other jobnet and ends them.
//
// # Nested jobnets
//
// Units are flattened with paths "sub/extract". A nested jobnet unit's state
// is derived: it moves to running when its edges fire (and it is not held),
// then to the aggregate of its children when all ended. A stored end state
// is authoritative: if an operator marks a nested jobnet ended normally (or
// bypassed), its children that have not started are bypassed and the mark
// decides its successors. A bypassed nested jobnet bypasses its body. Apply
// Derived changes together with (or before) Ready: readiness may depend on
// them.
//
// # Generation end
//
// The generation runs while any root-level unit has not ended. Then:
// ended_abnormal if any unit ended abnormally, failed to start or has an
// unknown end; else killed if any unit was killed; else ended_warning if any
// ended with warning; else ended_normal (bypassed units count as nothing).
// A failure whose recovery units ran still ends the generation abnormally
// (as JP1 does): the record shows the failure; an operator who accepts the
// recovery marks the unit ended normally and the generation is judged again
// (CauseMark). An operator's kill of the whole generation sets killed
// directly (CauseKill) whatever the units say.
//
// # End judgment, timeout, retry
//
// Judge: with thresholds exit ≤ warning → normal, ≤ abnormal → warning,
// greater → abnormal; defaults 0/0. Negative exit codes (death by signal) are
// abnormal; an abnormal threshold below the warning threshold wins.
// always_normal ends every exit normally. A timeout kills the job and ends it
// as Timeout.EndAs (abnormal by default). RetryDecision counts tries since the
// unit last started fresh (try 1 is the first run or the first run after a
// rerun); Count retries are allowed; without On, abnormal ends and failures
// to start retry. A retried attempt never passes through an end state: the
// unit goes from starting/running (or queued, when it failed before
// dispatch) straight back to waiting with NotBefore, so successors and
// alerts never see a transient failure. Attempt in UnitRun counts every
// dispatch over the generation's life and keeps counting across reruns, so
// dispatch keys never repeat.
//
// # Delay monitoring
//
// Absolute deadlines are business-day clock times (00:00-47:59) from the
// business date's midnight in the calendar's zone, resolved on the wall clock
// (DST-safe); relative ones count from the scheduled start. A pending unit is
// start-delayed from the deadline instant on (now ≥ deadline); a started one
// if it started after it. End delay likewise, plus MaxDuration (still running
// MaxDuration after its start, or having run longer). NextDelayCheck says
// when a flag could next rise.
//
// # Rerun
//
//   - from_abnormal: the job/judgment/wait units that ended abnormally (killed,
//     failed to start, unknown end included) and the units downstream that
//     were bypassed because of them; units that ran (recovery units) stay.
//   - after_abnormal ("rerun from the next job"): the abnormal units are marked
//     ended normally and the bypassed units downstream are reset.
//   - from_top: every unit that is not waiting or held.
//   - warning_only: the units that ended with warning (not their successors,
//     which already ran).
//   - unit_alone, unit_with_successors, successors_only: one unit (a nested
//     jobnet with its whole body), optionally everything downstream, or only
//     what is downstream. The unit must have ended.
//
// Downstream includes the successors of enclosing jobnet units. Enclosing
// jobnet units that ended are reset too, so their body runs again and their
// state is derived anew. A starting or running unit in the reset set is a
// conflict; reset units go back to waiting (a unit defined with hold is not
// held again); their flags, exit code, judgment result and NotBefore are
// cleared by the caller and Attempt keeps counting.
//
// # Variables and macros
//
// Every job gets KOYOMI_BUSINESS_DATE (YYYY-MM-DD), KOYOMI_JOBNET,
// KOYOMI_JOB (unit path), KOYOMI_RUN_ID, KOYOMI_ATTEMPT and the generation
// parameters (built-ins win over parameters of the same name). Expand
// replaces ${NAME}; $$ is a literal $; any other $ stays as written so shell
// variables pass through ($HOME; write $${HOME} for braces). ${NAME:format}
// formats a date value with yyyy, yy, mm, dd and separators. An unknown
// variable is an error naming it and its column. ExpandJob applies this to
// env values, local command/workdir, ECS command and tags, EKS image,
// command, args and labels.
//
// # Dispatch key
//
// DispatchKey(installation, run, unit, attempt) is deterministic, ≤ 63
// characters of [a-z0-9-] starting and ending with a letter or digit: the
// installation id, a readable slug of run and unit, the attempt and a 40-bit
// hash of the exact inputs. It is the ECS clientToken and startedBy and the
// seed of pod names, recorded before the dispatch call so a crash never
// starts a second execution. The installation id (created once per
// database) keeps two installations that share a cluster, or a database
// recreated from scratch, from ever adopting each other's executions: a
// generation id alone is derived from jobnet, date, rule and start time, and
// repeats across installations.
//
// # Performance
//
// Compile a net once per jobnet version (Compile → *Graph); Graph.Evaluate
// is one linear pass over units and edges. States passed in Graph.Paths
// order bind without map lookups.
package jobrun
