// Package runner drives generations from their start time to their end:
// it starts due generations, evaluates them with the pure state machine
// (jobrun), dispatches their queued units to executors, watches what runs
// and records every change as a guarded store update.
//
// # The loop
//
// Run repeats Pass. A pass decides and writes; it never waits for a
// backend. One pass:
//
//  1. starts the startable generations (store.StartableGenerations honours
//     the overlap policy and the catch-up gate below; StartGenerationWith:
//     waiting → running with started_at, plus the unit rows in their
//     initial states, idempotent);
//  2. once per poll interval marks the generations seen in time
//     (store.MarkSeenInTime) and every active generation for evaluation
//     (operators' holds, releases, reruns and marks, and delay deadlines,
//     are picked up within one interval);
//  3. records what the executor calls handed out earlier returned (see
//     Executor calls): the handles of started executions in one
//     transaction (store.MarkRunningAll, guarded starting → running), start
//     errors, cancel causes, and the executions that ended, judged (end
//     judgment, timeout end state, retry policy) and kept for their
//     generation's evaluation (step 5), which they mark dirty;
//  4. watches this node's starting and running units (a full pass reads
//     them all, once per poll interval adopting orphans first,
//     store.ActiveUnits, otherwise only listing its own,
//     store.WatchedUnits; an incremental pass, see below, re-reads only
//     the units it must look at) and does what the pure
//     decideWatch says for each: re-attach a dispatch without a handle
//     (Start again with the recorded key), cancel on a kill request or a
//     timeout, check a wait unit, end an execution no executor knows, or
//     poll it (BatchStatuser when the executor has it) when it is due or
//     its executor notified a change. Executor calls are only handed out;
//  5. evaluates the generations marked dirty: Graph.Evaluate on the stored
//     states with the ends of step 3 counted, judgments resolved in-process
//     (variables and Stat), delay flags raised, and the step applied in one
//     transaction (ApplyStepAndClaim: the ends, each guarded by its state
//     and written with its events; derived nested jobnet states, bypassed
//     units, judgment results, ready units → queued, the generation's end
//     with its event, ended_at; then, when units became ready or ended in a
//     running generation, the claim of step 6 in the same transaction, so
//     that one commit takes a hop from a job's end to its successor's
//     recorded dispatch). An end that no longer applies (someone changed
//     the unit) makes the transaction a conflict: the ends are then written
//     on their own (store.MarkEndedAll, guarded per unit) and the
//     generation evaluated again; so are ends whose generation has nothing
//     to apply or no longer runs. The
//     generation comes from the cache (re-read when held), the units are
//     read once per evaluation (store.EvalUnits: only the columns evaluation
//     needs) and a persisted step is applied to them in
//     memory, so further rounds read nothing. A conflict means someone
//     changed the generation meanwhile: re-read both and evaluate again.
//     Incremental passes evaluate the states kept in memory instead;
//  6. claims queued units and records their dispatch in the same update
//     (ClaimForDispatch: pools and max_concurrent_jobs respected, FOR
//     UPDATE SKIP LOCKED on PostgreSQL; job units queued → starting with
//     their dispatch keys and this runner's HostID), unless an evaluation
//     of this pass claimed after every cause and took all it could, and
//     hands their starts to the lanes (those claimed with an evaluation
//     too). A claim made with an evaluation never waits for a pool or
//     generation row another transaction holds (it holds its generation's
//     lock): it leaves those units to this step. Params.OnDispatch observes
//     each accepted start with the time the unit spent since it was queued;
//  7. renews this node's claims.
//
// Compiled graphs are cached by (jobnet id, version): a generation pins its
// version, so a cached graph never goes stale.
//
// # Full and incremental passes
//
// A full pass reads everything it works on from the database; Pass is one.
// Run makes a full pass at start, at least once per poll interval, after a
// Notify (an operator's action, a generation inserted by another process,
// any store.ListenRunners notification but units queued) and after a
// generation ended (a generation waiting for it may start). In between it
// makes incremental passes, which read only what changed, so that a pass
// costs in proportion to what happened since the last one, not to how many
// units run:
//
//   - starting due generations (step 1) is left to full passes;
//   - watching (step 4) keeps this node's starting and running units in
//     memory as last read; it re-reads only the units this runner wrote or
//     an executor call returned about, and decides only about those, the
//     units their executor notified about and the ones whose poll time or
//     own deadline (timeout, retry) came. A kill request is an operator's
//     action, audited and notified (NOTIFY on PostgreSQL, in-process or
//     by the database's data version on SQLite, see Wake-ups): the full
//     pass it causes reads it;
//   - evaluating (step 5) keeps each active generation's unit states in
//     memory between full passes, with this runner's own writes (claims,
//     starts, ends collected in one transaction, applied steps) applied to
//     them; any other write by the runner, and any failed or conflicting
//     one, drops the generation's states, so its next evaluation reads
//     them again;
//   - claiming (step 6) runs when the pass changed something (an
//     evaluation may have queued units, an end freed a pool slot), when
//     another replica queued units (NotifyQueued), when a retry time or
//     backoff came, when the last claim took a full batch, and in full
//     passes — unless an evaluation's claim already took all it could
//     after those causes.
//
// Every write stays guarded by the state it expects, so a state kept in
// memory that someone else changed meanwhile costs a conflict and a re-read,
// never a wrong write; what others changed without a notification is seen
// by the next full pass, within the poll interval as before.
//
// # Executor calls
//
// Every executor call (Start, Status, Statuses, Cancel, and the log tail an
// alert carries) runs off the pass, in a lane: one per executor and
// connection (the connection an ECS or EKS job spec names for Start, the one
// its handle's data names afterwards) and per kind of call (starts apart
// from watching, so hung RunTasks do not hide the ends of running tasks).
// A lane runs at most DispatchWorkers calls at once, in order; each call is
// bounded by CallTimeout (a Start cut off by it is a retryable dispatch
// error, retried with the same key). A unit has at most one call out at a
// time; it is handed nothing else until the call's result is recorded by a
// pass (step 3), and a returning call wakes the loop. So a hung backend
// call delays the jobs on its connection only: local jobs, other
// connections and the database work of the pass go on, and the pass never
// waits for a call. Starts of a wide fan-out run in parallel (on SQLite
// too) while their database writes stay batched per pass. A stopping Run
// cancels the calls still out and waits for them.
//
// The decisions (decideWatch: what to do about a unit; startLane and
// watchLane: where a call goes; endVerdict and endTime: how and when an
// execution ended) are pure functions; dispatch.go applies them.
//
// # Wake-ups
//
// The order record → watch → evaluate → claim makes one hop (a job's end
// is recorded → its successor is queued, claimed and its start handed out)
// a single pass and a single transaction; a pass that changed anything is
// followed at once by another, without waiting for a timer. Otherwise the loop sleeps until the
// poll interval, a Notify, or the earliest wake-up a pass computed (a retry
// time, a timeout, a delay deadline, a wait limit, a dispatch backoff).
// Notify comes from operators (after they changed a generation), from every
// executor call that returns, and from executors that implement
// dispatch.Notifier: New subscribes to them, and a notification about a
// handle makes the next pass (at once) poll that execution, whatever its
// poll interval. A notification that carries a terminal status (the local
// executor's carries the exit record) is recorded as if a poll had
// returned it, without calling the executor (takeTold), unless the end's
// alert carries the log's tail. So no poll interval lies in a hop whose
// executor notifies: the end is seen, recorded, evaluated and the successor
// claimed and started in one pass by the node that watched the job, which
// on PostgreSQL with several replicas is also the node that queued the
// successor (it claims in the same pass). An execution is polled at once
// after it started, unless its executor notifies: then a notification that
// came before the start was recorded (a job that ended at once) is kept
// until the unit is read with its handle (for a poll interval at most), and
// the execution is polled every poll interval in case a notification was
// lost (a supervisor connection that broke).
//
// A pass claims only when something may have made units claimable (an
// evaluation, an end, a failed start, a watch action, a retry time, a
// notification, a full pass); one that only recorded starts or polls does
// not.
//
// The unit states kept for evaluation are this runner's view. Every write
// that changes what an evaluation depends on (ends, retries, applied steps;
// store.UnitsChangedBy) tells the other runners, by NOTIFY on PostgreSQL and
// in-process on SQLite, naming its writer (store.WithOrigin); a runner told
// of another's write drops the states it kept and evaluates their
// generations again from the database. Without it a replica that ended the
// last job of a generation, its predecessor ended by another replica, would
// see the predecessor still running in what it kept and never end the
// generation.
//
// On PostgreSQL the store also wakes the runners of every replica when a
// transaction that may give them work commits (LISTEN/NOTIFY on channel
// koyomi_runner: units queued by an evaluation, generations inserted, any
// audited operator action; store.ListenRunners): a unit queued by one
// replica, a `koyomi run now` from another process or a kill requested
// through another replica is acted on at once by every idle runner. On
// SQLite the store tells the runners of its own process the same way once
// a transaction commits (an operator's action through the GUI or the API,
// a generation the planner inserted), and a commit by another process (a
// CLI writing the database file itself) within a fifth of a second, when
// the store sees the database's data version change.
//
// A unit's ended_at is when the execution ended as the executor recorded
// it (dispatch.Status.EndedAt: the local exit record, the task's stop
// time), not when the runner noticed: after downtime, durations and end
// delays stay true. Without such a record it is when the runner noticed.
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
// After a restart a runner watches the units of its own node name at once.
// A runner that is the only process on its database (an SQLite file locked
// exclusively, store.Exclusive, as `koyomi serve` opens it) adopts every
// starting and running unit at once whatever node name claimed it, since
// that was an earlier life of the same process (the default --node,
// host-pid, changes on every start): a restart after kill -9 does not wait
// for ClaimLease. On PostgreSQL a restarted replica with the same --node
// adopts its units at once; with another name (the default --node changes
// on every start) it adopts at once the units of the nodes whose process is
// gone from its own machine and PID namespace (every runner records its
// process in runner_nodes, see node.go), and waits for the claims of other
// nodes to expire, since they may be live replicas elsewhere.
//
// # Replicas on separate hosts
//
// A local job's supervisor state (its exit record and the lock that tells
// whether it runs) is on the disk of the host that started it, in its data
// directory; it is not in the database. Params.HostID names that data
// directory (`koyomi serve` keeps it in <data-dir>/host-id) and is recorded
// with every dispatch (unit_runs.host_id). A runner never adopts a starting
// or running local unit recorded with another host id: it could not learn
// the job's outcome (it would record a job that ended normally as unknown
// end and bypass its successors), and Start with the same key on another
// disk would run the job a second time. Such a unit stays as it is until a
// runner on its host (the restarted replica, or another one sharing the
// data directory) adopts it. An operator who knows the host is gone kills
// it: any runner then records it killed without calling the executor,
// saying that a process still running on that host was not stopped.
// Units of other job types (ECS, EKS), whose state lives in the backend,
// are adopted by any replica, and their Start is idempotent by key
// everywhere. Replicas that share one data directory (a shared
// volume) share the host id and adopt each other's local units.
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
//     A start refused for want of capacity or a full quota
//     (dispatch.IsCapacity) is tried again within the job's capacity budget
//     (jobnet.Job.CapacityBudget: retries a fixed interval apart, decided by
//     jobrun.CapacityDecision); each refused try shows on the unit ("try 3 of
//     21 refused; next try at …: <reason>") and raises a dispatch_error
//     event; out of budget the attempt fails to start with the last reason.
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
