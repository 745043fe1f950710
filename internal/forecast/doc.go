// Package forecast predicts when the units and generations of a business
// date will start and end, and whether they will meet their deadlines. It
// is pure: the history, the states and now are parameters.
//
// # Expected durations
//
// Params.Estimate takes the successful runs of a unit, newest first, each
// with its DayClass (weekday, and whether the business date was the last
// open day of its business month), and returns the Percentile (p90,
// nearest rank) of the newest Window (20) runs that resemble the target
// day: month-end runs on a month-end day when the month ends differ from
// the other days (medians more than 25 % apart, at least 3 runs); else the
// same weekday's runs when some weekday differs from the rest; else all of
// them. Each class is judged on its own newest Window runs, so rare days
// keep enough history. A unit without a successful run is expected to take no time, and
// the estimate says so (BasisNone).
//
// # Propagation
//
// Compile flattens a jobnet version into a Shape (every net in topological
// order, a nested jobnet's units right after it). Build turns the stored
// states of one generation into Nodes: ended, bypassed, running or pending.
// It predicts which pending units will run on the normal path: normal edges
// fire, recovery edges fire only after an abnormal end that has happened,
// both branches of an undecided judgment run (the pessimistic choice), and
// a unit behind one that will not run does not run either.
//
// Run forecasts all generations together as a list schedule: a unit starts
// when its predecessors have ended and its enclosing nested jobnet has
// started, never before its generation's start, now, or its NotBefore (a
// retry's interval); a job also waits for a slot of its resource pool
// (shared by all generations) and of its generation's concurrency limit,
// jobs taking free slots in the order they became ready. A running unit
// ends at max(start + expected, now) and holds its slots until then; a
// nested jobnet ends when its last unit does. The generation's end is its
// actual end once it ended, else the latest end of its root units (never
// before now).
//
// The critical path is walked back from the root unit that ends last along
// the predecessor whose end let each unit start, entering a nested jobnet
// through the unit that ended last; it is named first to last.
//
// # Deadlines
//
// Judge compares an end with a deadline: missed when the deadline passed
// before the end (or before now, while it runs), at risk when it still
// runs and is predicted to end after the deadline, otherwise ok. Overlap
// policies between generations of one jobnet and waits on other jobnets
// are not modelled: a waiting generation is expected to start on time.
package forecast
