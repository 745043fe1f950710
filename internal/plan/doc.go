// Package plan turns a root jobnet's schedule rules and its operation
// calendar into planned generations (Run), each with an explanation a person
// can read, plus the candidates that yielded no run (Dropped) and why. It is
// pure: no I/O, no clock; "now" is always a parameter.
//
// # Entry points
//
//   - Planner: built once for a calendar and a range of business dates
//     (NewPlanner); Plan(jobnet) plans one jobnet, PlanAll many in parallel.
//     The Planner precomputes an open-day index (ordinal of every open day,
//     so "the n-th open day after d" is one lookup), the business months,
//     weeks and years, date texts and the zone offsets of every day, and
//     shares them across jobnets.
//   - Schedule: one jobnet compiled against its calendar (NewSchedule),
//     with Next(after) — the next planned start strictly after an instant,
//     zero if none within two years — and Runs(from, to). It plans in
//     92-day chunks aligned on the epoch and keeps the last two, so
//     successive Next calls are cheap; it is a snapshot of the jobnet, the
//     calendar and the resolver's answers: build a new one when they change.
//   - CatchUp and OverlapDecision: the catch-up and overlap policies as pure
//     functions. Moved: the difference of two plans, for calendar import
//     previews ("which runs move").
//   - ValidateOn: jobnet.ValidateRules plus the checks that need the
//     calendar (start times inside their business day).
//
// # Evaluation order (DESIGN.md "Schedule rules")
//
//  1. Candidate dates, per rule kind:
//     day N — the N-th calendar day of each business month counted from the
//     base day (with base day 21, day 1 is the 21st and day 31 exists only in
//     31-day business months); month_end N — the last day of the business
//     month, or N days before it; open_day N / open_day_from_end N — the N-th
//     open day from the start / end of each business month, week or year;
//     weekday_of_month — the N-th (1-5) or last given weekday within the
//     business month; every N days/weeks/months from the anchor; dates;
//     daily; weekdays. A candidate that does not exist (day 31 in a 30-day
//     month, a 5th Friday, the 22nd open day of a month with 21, 30 days
//     before the end of February) yields no run and a DropNonexistent entry:
//     month end is its own rule kind, never a silent clamp.
//  2. Closed-day substitution for candidates on closed days, except
//     open_day kinds whose candidates are open by construction: before
//     (nearest earlier open day), after (nearest later), skip (the default),
//     run (anyway). before/after search at most max_shift calendar days
//     (0 means DefaultMaxShift, 31); none found is DropMaxShift.
//  3. Business-day offset: N open days later (+) or earlier (−), counted
//     from the substituted date, never counting that date itself: +1 from a
//     Friday before a Monday holiday is the Tuesday; +1 from a closed day
//     run anyway is the next open day. Offsets count any number of open days
//     up to jobnet.MaxOffset; a Planner's tables reach TableReachDefault open
//     days beyond its range, and a schedule with a larger offset is planned
//     on a wider copy of the Planner, built once per reach.
//  4. Exclusions (the rule's excluded dates), except (the business dates its
//     exception rules plan, each planned as a rule of its own without start
//     times; the explanation names the exception and how it reached the
//     date) and exclusive_with (the planned
//     business dates of the named jobnets, from a Resolver; a name without
//     "/" is in the same folder), both against the date after offset.
//  5. Start times: each start clock (default: the calendar's base time) and
//     its repeats (every N minutes while ≤ until). A start must lie inside
//     its business day, base time ≤ start < base time + 24h; outside is a
//     validation problem (ValidateOn), never a silent move.
//  6. Validity: valid_from/valid_to bound the final business date.
//
// Only final business dates inside the Planner's range become runs; the
// candidates are sought in a window widened by the rule's offset and max
// shift, so a candidate outside the range that substitutes or offsets into
// it is planned, and one that leaves it is not. A drop is reported when the
// date at which it was dropped lies in the range (a nonexistent candidate
// when its period overlaps the range).
//
// Runs with the same business date and start clock collapse into one: the
// first rule (in schedule order) keeps the run, and the explanation and a
// StepDuplicate step name the others. Runs come in start order.
//
// Jobnets with identical rules (every field, names and order included)
// share one plan inside a Planner: the second jobnet with a schedule keeps
// its plan, and later ones get a copy of it with their own Run.Jobnet and
// Dropped.Jobnet, sharing the Explanation strings and Steps. Rules with
// exclusive_with are always planned anew (their plan depends on the folder
// and the resolver). A schedule seen once keeps only its key, so a Planner
// over distinct schedules holds no plans.
//
// # Explanations
//
// "day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) →
// before → 2026-08-14; offset −2 open days → 2026-08-12; start 21:00".
// Closed days name the calendar's reason when it is more than the weekday
// ("closed: Mountain Day (jp)"). With a base day other than 1 the period
// reads "business month 2026-04 (starts 03-21, named by its end month)",
// after the calendar's month naming. Runs of one rule and date share their
// explanation and steps (they do not mention the individual start).
//
// # Decisions where DESIGN.md is silent
//
//   - Business week: Monday to Sunday (calendar.BusinessWeek); open_day N of
//     a week counts the open days of that week, so a week with fewer than N
//     open days (Golden Week) yields a nonexistent drop.
//   - Business year: the twelve business months a calendar labels y-01 …
//     y-12 (calendar.BusinessYear); open_day counts within it.
//   - every N days/weeks counts from the anchor forward only; dates before
//     the anchor are not candidates.
//   - every N months (N years: every 12·N months) keeps the anchor's day of
//     the month in every N-th calendar month from the anchor's; a month without that day (31 in
//     April) is a nonexistent drop, not a clamp — use month_end for "last
//     day". Its Dropped.Period is the calendar month "2026-04".
//   - weekday_of_month counts within the business month (from the base day).
//   - Exclusions, exclusive_with and the validity period refer to the final
//     business date (after substitution and offset), so excluding a payday's
//     date does not exclude the calculation two days before it.
//   - Catch-up (CatchUpDefault latest): only runs that started before now
//     are missed; runs older than the window are skipped under every policy;
//     window 0 means no bound. Overlap (OverlapDefault wait): with no
//     previous generation running the decision is always start.
//   - Moved matches runs of two plans by jobnet, rule, candidate date
//     (Run.Origin) and position among that candidate's starts; a run whose
//     business date or start instant differs has moved.
//   - DST: starts use calendar.Date.At — a wall-clock time in a gap runs at
//     the first instant after the gap, an ambiguous one at its first
//     occurrence. Days whose zone offset is constant over the 48h a start
//     clock can reach use a precomputed offset instead, with the same result.
//     On the other days a start in a gap or an overlap says so in its
//     explanation and a StepDST step (calendar.Date.DSTNote: "02:30 does not
//     exist on 2026-03-08 in America/New_York → 03:00 EDT"), and starts of
//     one business date that resolve to the same instant (02:00, 02:30 and
//     03:00 on a spring-forward day) collapse into the run of the earliest
//     clock, which names the others (StepSameInstant). Run.StartClock keeps
//     the clock asked for beside Run.Start.
package plan
