// Package scheduler is the planner service: it turns the current
// definitions (jobnets, their schedule rules, operation calendars) into
// generations in the database, ahead of time, and keeps them in step when
// definitions change. It starts nothing itself: the runner starts the
// generations whose time came (store.DueGenerations).
//
// # Leader
//
// Every `koyomi serve` replica runs a Scheduler, but only the holder of the
// "scheduler" lease (store.AcquireLease: a row in leases with a holder and an
// expiry, changed only by guarded updates) plans. The leader renews the lease
// every Interval (default 1s); a follower tries to take it every Interval and
// succeeds once it expired (LeaseTTL, default 10s), so a dead leader is
// replaced within LeaseTTL+Interval. A leader that stops gracefully releases
// the lease (it expires at once). Lease times come from the store's clock;
// replicas need clocks synchronised well within LeaseTTL. When a node takes
// over from another holder, a leader_change alert is written. OnLeader
// reports the status for /metrics. Runners on every replica dispatch
// regardless of who leads. With SQLite the process is alone anyway (the
// store takes an exclusive lock file).
//
// # Horizon and re-plans
//
// The leader plans (plan.Catalog over store.CurrentJobnets, folders and
// calendars) the business dates from the earliest date a jobnet's catch-up
// window reaches back to (today's business date with no window) up to the
// business date of now+Horizon (default 48h), every PlanEvery (5s) and at
// once when the definitions fingerprint (jobnet and calendar versions,
// folder changes: store.DefinitionVersions) changes. Reconcile compares the
// plan with the generations of those dates:
//
//   - a planned run without a generation inside the horizon is created,
//     state waiting, pinning the jobnet's current version, with the plan's
//     explanation and the jobnet's overlap policy; creation is idempotent on
//     the identity (jobnet, business date, rule, start clock) and the id is
//     derived from it (store.GenerationID);
//   - an unstarted generation (planned or waiting) whose identity is still
//     planned but whose start instant, version, overlap policy or
//     explanation differ is updated ("moved");
//   - an unstarted generation the plan no longer has ends as not_executed
//     with the reason "no longer planned: …"; a run that moved to another
//     date is a new identity, so the old one is cancelled and the new one
//     created;
//   - held, started and ended generations, manual runs (rule "manual") and
//     generations an operator re-timed are never touched;
//   - a jobnet whose rules fail to plan (a broken calendar reference) keeps
//     its generations as they are, and the problem is logged.
//
// # Catch-up
//
// A generation is missed when its start time passed by more than Grace
// (default 1 min) and nobody started it although nothing held it back:
// it was created late (planned after its time, e.g. after downtime or a
// definition change), or, on the first plan of a leadership term, it is
// an overdue waiting generation that no running predecessor holds back
// (store.OverdueGenerations). CatchUpSkips groups the missed generations
// by jobnet and applies plan.CatchUp with the jobnet's policy and window:
// all (every missed one within the window runs), latest (only the latest
// runs), skip (none runs). The ones that run stay waiting and are marked
// decided (store.KeepMissed, column catchup_checked; the runner starts them
// at once); the others end as skipped with the reason. Until then the
// runner does not start a generation overdue by more than its grace period
// (store.StartableGenerations), so a skipped run never starts first; a
// generation a live runner saw become due in time, or that a running
// predecessor held back, is marked by the runner (store.MarkSeenInTime)
// and is not a missed one.
// Missed runs older than the window are skipped under every policy.
// Re-timed and manual generations are the operator's decision and never
// count as missed.
//
// # Overlap
//
// Each generation records its jobnet's overlap policy when planned (column
// overlap). The decision when a generation becomes due while an earlier
// generation of the same jobnet has started and not ended:
//
//   - concurrent: store.DueGenerations returns it; the runner starts it.
//   - wait: DueGenerations does not return it while the predecessor runs;
//     it stays waiting and becomes due when the predecessor ends.
//   - skip: DueGenerations does not return it; the leader's next step
//     (every Interval) ends it as skipped (store.SkipOverlapped) if the
//     predecessor had started before and not ended by its start time, so
//     the decision refers to the start time even if it is taken a moment
//     later. If the predecessor ended before the start time it runs.
//
// "Earlier" means scheduled earlier; a rerun of an old generation counts
// while it runs. This is plan.OverlapDecision expressed as a query, so the
// runner on any replica sees the same answer without reading definitions.
package scheduler
