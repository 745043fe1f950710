// Package deadline is the long-running service that watches deadlines:
// every Interval (30 s) it reads the business dates with generations in
// flight (or ended in the last hours), forecasts each date with package
// forecast, and raises deadline events through the alert outbox.
//
// # Inputs
//
// For a business date it reads, in a few queries: the date's generations
// and their units (Store.DayRuns), the pools, folders and calendars, each
// pinned jobnet version once (compiled into a forecast.Shape and kept), and
// per jobnet the successful runs of its units on the HistoryDays (120)
// business dates before (Store.UnitDurations), kept for HistoryTTL (10 min)
// since past dates do not change. Each sample is classified by the
// jobnet's calendar (weekday, last open day of the business month) and the
// expected duration is forecast.Params.Estimate for the target date.
//
// A generation's deadline is its rule's `deadline`, else its jobnet's
// (jobnet.Jobnet.DueOf); a business-day time is placed on the business
// date in the calendar's time zone, a relative one after the scheduled
// start. Units may carry their own deadline. Skipped and not executed
// generations are left out; a generation that has not started starts at
// its scheduled time (or now, if that has passed).
//
// # Events
//
// deadline_at_risk (warning) is raised when a generation that has not
// ended is predicted to end after its deadline, naming the critical path;
// deadline_missed (critical) when the deadline passed before its end. Each
// is raised at most once per generation, unit ("" for the generation) and
// kind: Store.RaiseDeadlineAlert inserts a row into deadline_alerts
// (primary key generation, unit, kind; insert-or-nothing) and the outbox
// event in one transaction, so a restart or a second replica never repeats
// one, and an event exists exactly when its marker does. Alert rules
// select the kinds like any other; the deliverer sends them.
//
// # Reading
//
// Day is also what the GUI, the REST API and `koyomi run forecast` show: the
// same forecast, computed on demand from the store as of now and reused for
// ReportTTL (10 s; Check always computes afresh and refreshes it), so pages
// that poll stay cheap.
package deadline
