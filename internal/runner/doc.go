// Package runner drives generations from their start time to their end:
// it starts due generations, evaluates them with the pure state machine
// (jobrun), dispatches their queued units to executors, watches what runs
// and records every change as a guarded store update.
//
// # The loop
//
// Run repeats Pass. One pass:
//
//  1. starts the startable generations (store.StartableGenerations honours
//     the overlap policy and the catch-up gate below; StartGenerationWith:
//     waiting → running with started_at, plus the unit rows in their
//     initial states, idempotent);
//  2. once per poll interval marks the generations seen in time
//     (store.MarkSeenInTime) and every active generation for evaluation
//     (operators' holds, releases, reruns and marks, and delay deadlines,
//     are picked up within one interval);
//  3. watches this node's starting and running units (once per poll
//     interval adopting orphans first, store.ActiveUnits; otherwise only
//     listing its own, store.WatchedUnits): re-attaches
//     dispatches without a handle, cancels on kill requests and timeouts,
//     ends wait units, polls executors (BatchStatuser when the executor has
//     it) and judges the executions that ended (end judgment, timeout end
//     state, retry policy), marking their generations dirty; the ends seen
//     in one pass are written in one transaction (store.MarkEndedAll, each
//     end still guarded by its state and written with its events);
//  4. evaluates the generations marked dirty: Graph.Evaluate on the stored
//     states, judgments resolved in-process (variables and Stat), delay
//     flags raised, and the step applied in one transaction (ApplyStep:
//     derived nested jobnet states, bypassed units, judgment results, ready
//     units → queued, the generation's end with its event, ended_at). The
//     generation comes from the cache (re-read when held), the units are
//     read once per evaluation (store.EvalUnits: only the columns evaluation
//     needs) and a persisted step is applied to them in
//     memory, so further rounds read nothing. A conflict means someone
//     changed the generation meanwhile: re-read both and evaluate again;
//  5. claims queued units and records their dispatch in the same update
//     (ClaimForDispatch: pools and max_concurrent_jobs respected, FOR
//     UPDATE SKIP LOCKED on PostgreSQL; job units queued → starting with
//     their dispatch keys) and starts them in parallel (DispatchWorkers;
//     one on SQLite); the handles of the executions started are then
//     recorded in one transaction (store.MarkRunningAll, guarded
//     starting → running). Their keys were recorded before Start, so a crash
//     before that write re-attaches them like any starting unit without a
//     handle. Params.OnDispatch observes each accepted start with the time
//     the unit spent since it was queued;
//  6. renews this node's claims.
//
// Compiled graphs are cached by (jobnet id, version): a generation pins its
// version, so a cached graph never goes stale.
//
// # Wake-ups
//
// The order watch → evaluate → claim makes one hop (a job's end is seen →
// its successor is queued, claimed and started) a single pass; a pass that
// changed anything is followed at once by another, without waiting for a
// timer. Otherwise the loop sleeps until the
// poll interval, a Notify, or the earliest wake-up a pass computed (a retry
// time, a timeout, a delay deadline, a wait limit, a dispatch backoff). An
// execution is polled at once after it started and then every poll
// interval.
//
// # Claims and several replicas
//
// Every replica runs a runner. A claim (claimed_by, claim_expires) binds a
// queued unit to the node that dispatches it and, once it starts, the
// execution to the node that polls it. Claims are renewed every third of
// ClaimLease; units of a node whose claims expired (it died) are adopted by
// ActiveUnits on another node, which polls them or re-attaches them. Pool
// slots count starting and running units and queued units under a live
// claim; on PostgreSQL the pool and generation rows are locked while counting
// so two replicas never overfill a pool.
//
// # Durability (DESIGN.md)
//
//   - Every state change is a guarded update (UPDATE … WHERE state = from)
//     checked by rows affected; a miss is fault.ErrConflict and the runner
//     re-reads instead of overwriting.
//   - Alerts are written in the same transaction as the change that causes
//     them (job ended abnormally or with warning, failed to start, retry,
//     start and end delay, generation ended, dispatch error).
//   - The dispatch key (jobrun.DispatchKey of run, unit, attempt) is recorded
//     with queued → starting, in the claim's transaction, BEFORE
//     Executor.Start is called. A crash before
//     the handle is recorded leaves a starting unit with a key and no handle:
//     the next pass (of this node after a restart, or of another node once
//     the claim expired) calls Start again with the same key, and executors
//     return the existing execution (ECS clientToken/startedBy,
//     deterministic pod names, the local supervisor's state directory). So a
//     crash leads neither to a lost job nor to a second one.
//   - Running units keep their handle; after a restart they are simply
//     polled again. Queued units this node had claimed in a previous life
//     are released at start-up.
//   - A retryable Start error keeps the unit starting with its key and
//     retries with exponential backoff (1 s … 1 min, StartErrorLimit tries);
//     a permanent one (dispatch.Permanent, invalid input, no executor) ends
//     the attempt as failed to start, which the job's retry policy may retry.
//   - A timeout or an operator's kill records why the runner cancelled the
//     execution (cancel_cause) after calling Cancel with KillGrace, so the
//     end is judged correctly (killed, or the timeout's end state) even if
//     the server restarts before the execution ends.
//
// # Catch-up
//
// The scheduler's leader applies the catch-up policy to missed generations
// (scheduler package). So that a run the policy skips never starts first,
// the runner starts a generation overdue by more than CatchUpGrace only
// once its catch-up is decided (column catchup_checked): the runner sets
// it on waiting generations whose start time it saw come within the grace
// period, or that a running predecessor held back (overlap wait or skip),
// since neither is missed; the leader sets it on the missed ones its policy
// keeps (store.KeepMissed) and ends the others as skipped; an operator's
// release sets it. Re-timed and manual generations never wait for it.
// After downtime, overdue generations therefore wait for the leader's first
// plan (within a lease interval) instead of starting at once. CatchUpGrace
// must exceed PollInterval so a live runner always sees a start in time.
//
// # Retries
//
// The try count (tries) restarts at 1 when a unit is dispatched without a
// retry time (first run or after a rerun, which clears it) and grows by one
// on every retry; jobrun.RetryDecision reads it. Attempt counts every
// dispatch over the generation's life, so keys never repeat.
//
// # Wait units
//
// A claimed wait unit moves to running (no executor) and is checked every
// poll interval: when the awaited unit (or, without a unit name, the whole
// generation) of the other root jobnet ended normally or with warning in a
// generation of the same business date it ends normally; after its Limit it
// ends abnormally.
package runner
