package scheduler

import (
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Planned is one run of the current plan with what a generation pins.
type Planned struct {
	JobnetID int64
	Version  int
	Folder   string
	Overlap  jobnet.Overlap
	Run      plan.Run
}

// Key is a generation's unique identity.
type Key struct {
	JobnetID int64
	Date     calendar.Date
	Rule     string
	Clock    calendar.ClockTime
}

func keyOf(g store.Generation) Key {
	return Key{JobnetID: g.JobnetID, Date: g.BusinessDate, Rule: g.Rule, Clock: g.StartClock}
}

func (p Planned) key() Key {
	return Key{JobnetID: p.JobnetID, Date: p.Run.BusinessDate, Rule: p.Run.Rule, Clock: p.Run.StartClock}
}

// Generation returns the generation to create for the planned run.
func (p Planned) Generation() store.Generation {
	return store.Generation{JobnetID: p.JobnetID, JobnetVersion: p.Version, Jobnet: p.Run.Jobnet, Folder: p.Folder,
		BusinessDate: p.Run.BusinessDate, Rule: p.Run.Rule, StartClock: p.Run.StartClock, ScheduledAt: p.Run.Start.UTC(),
		State: jobrun.GenWaiting, Explanation: p.Run.Explanation, Overlap: p.Overlap}
}

// Cancel ends an unstarted generation as not executed.
type Cancel struct {
	ID     string
	Reason string
}

// Actions is what a re-plan changes.
type Actions struct {
	// Insert: planned runs without a generation (inside the horizon).
	Insert []store.Generation
	// Update: unstarted generations whose start instant, pinned version,
	// overlap policy or explanation differ from the plan.
	Update []store.PlanUpdate
	// Cancel: unstarted generations the plan no longer has.
	Cancel []Cancel
}

// Empty reports whether the re-plan changes nothing.
func (a Actions) Empty() bool { return len(a.Insert)+len(a.Update)+len(a.Cancel) == 0 }

// Reconcile compares the current plan with the generations of the same
// business dates and decides what changes. It is pure.
//
//   - existing holds every generation of the planned business-date range
//     (any state); planned holds every run of that range, horizon or not.
//   - inScope reports whether a jobnet's plan is authoritative this time
//     (false for a jobnet whose rules failed to plan: its generations are left
//     alone rather than cancelled).
//   - insert reports whether a planned run is created now (inside the
//     horizon and the catch-up window).
//
// Only generations that have not started (planned or waiting), that no
// operator re-timed and that are not manual runs are updated or cancelled;
// held, started and ended ones stay as they are.
func Reconcile(planned []Planned, existing []store.Generation, inScope func(jobnetID int64) bool, insert func(Planned) bool) Actions {
	var a Actions
	byKey := make(map[Key]Planned, len(planned))
	for _, p := range planned {
		byKey[p.key()] = p
	}
	have := make(map[Key]bool, len(existing))
	for _, g := range existing {
		have[keyOf(g)] = true
		if g.State != jobrun.GenPlanned && g.State != jobrun.GenWaiting || g.Retimed || g.Rule == store.RuleManual || !inScope(g.JobnetID) {
			continue
		}
		p, ok := byKey[keyOf(g)]
		if !ok {
			a.Cancel = append(a.Cancel, Cancel{ID: g.ID, Reason: fmt.Sprintf("no longer planned: the current schedule of %s does not plan %s %s (rule %s)",
				g.Jobnet, g.BusinessDate, g.StartClock, g.Rule)})
			continue
		}
		ov := p.Overlap
		if ov == "" {
			ov = plan.OverlapDefault
		}
		gov := g.Overlap
		if gov == "" {
			gov = plan.OverlapDefault
		}
		if !g.ScheduledAt.Equal(p.Run.Start) || g.JobnetVersion != p.Version || g.Explanation != p.Run.Explanation || gov != ov {
			a.Update = append(a.Update, store.PlanUpdate{ID: g.ID, ScheduledAt: p.Run.Start.UTC(), JobnetVersion: p.Version, Explanation: p.Run.Explanation, Overlap: ov})
		}
	}
	for _, p := range planned {
		if !have[p.key()] && insert(p) {
			a.Insert = append(a.Insert, p.Generation())
			have[p.key()] = true
		}
	}
	return a
}

// Policy is a jobnet's catch-up policy.
type Policy struct {
	CatchUp jobnet.CatchUp
	Window  time.Duration
}

// Skip ends a generation as skipped.
type Skip struct {
	ID     string
	Reason string
}

// CatchUpSkips applies the catch-up policies to missed generations:
// generations whose start time passed by more than the grace period while
// nobody started them (Koyomi was down, or they were planned after their
// time). The ones the policy runs stay waiting and start at once; the
// others are returned to be ended as skipped. policy returns a jobnet's
// policy by id. It is pure.
func CatchUpSkips(missed []store.Generation, policy func(jobnetID int64) Policy, now time.Time) []Skip {
	byJobnet := map[int64][]plan.Run{}
	var order []int64
	for _, g := range missed {
		if _, ok := byJobnet[g.JobnetID]; !ok {
			order = append(order, g.JobnetID)
		}
		// Jobnet carries the generation id through plan.CatchUp.
		byJobnet[g.JobnetID] = append(byJobnet[g.JobnetID], plan.Run{Jobnet: g.ID, Rule: g.Rule, BusinessDate: g.BusinessDate, StartClock: g.StartClock, Start: g.ScheduledAt})
	}
	var out []Skip
	for _, id := range order {
		p := policy(id)
		cu := p.CatchUp
		if cu == "" {
			cu = plan.CatchUpDefault
		}
		_, skip := plan.CatchUp(cu, p.Window, byJobnet[id], now)
		for _, r := range skip {
			reason := fmt.Sprintf("catch-up policy %s: missed start %s", cu, r.Start.UTC().Format(time.RFC3339))
			switch {
			case p.Window > 0 && r.Start.Before(now.Add(-p.Window)):
				reason = fmt.Sprintf("catch-up: missed start %s is older than the catch-up window %s", r.Start.UTC().Format(time.RFC3339), jobnet.Duration(p.Window))
			case cu == jobnet.CatchUpLatest:
				reason += "; only the latest missed generation runs"
			}
			out = append(out, Skip{ID: r.Jobnet, Reason: reason})
		}
	}
	return out
}
