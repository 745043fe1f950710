package plan

import (
	"slices"
	"time"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// CatchUpDefault applies when a jobnet sets no catch-up policy.
const CatchUpDefault = jobnet.CatchUpLatest

// OverlapDefault applies when a jobnet sets no overlap policy.
const OverlapDefault = jobnet.OverlapWait

// CatchUp splits the runs missed while Koyomi was down into those to start
// now and those to end as skipped. Only runs that started before now count
// as missed; later ones are in neither list. window bounds how far back a
// missed run may still start (0: no bound); older ones are skipped under
// every policy. Both lists keep start order.
//
//   - all: run every missed run within the window.
//   - latest: run only the latest one within the window.
//   - skip: run none.
func CatchUp(policy jobnet.CatchUp, window time.Duration, missed []Run, now time.Time) (run, skip []Run) {
	if policy == "" {
		policy = CatchUpDefault
	}
	ms := make([]Run, 0, len(missed))
	for _, r := range missed {
		if r.Start.Before(now) {
			ms = append(ms, r)
		}
	}
	slices.SortStableFunc(ms, func(a, b Run) int { return a.Start.Compare(b.Start) })
	latest := -1
	for i, r := range ms {
		inWindow := window <= 0 || !r.Start.Before(now.Add(-window))
		switch {
		case !inWindow || policy == jobnet.CatchUpSkip:
			skip = append(skip, r)
		case policy == jobnet.CatchUpAll:
			run = append(run, r)
		default: // latest: decided below
			latest = i
		}
	}
	if policy == jobnet.CatchUpLatest {
		for i, r := range ms {
			inWindow := window <= 0 || !r.Start.Before(now.Add(-window))
			if inWindow && i != latest {
				skip = append(skip, r)
			}
		}
		slices.SortStableFunc(skip, func(a, b Run) int { return a.Start.Compare(b.Start) })
		if latest >= 0 {
			run = append(run, ms[latest])
		}
	}
	return run, skip
}

// Decision is what a due generation does about a previous one still running.
type Decision string

const (
	// DecisionStart: start now.
	DecisionStart Decision = "start"
	// DecisionWait: start when the previous generation has ended.
	DecisionWait Decision = "wait"
	// DecisionSkip: end the due generation as skipped.
	DecisionSkip Decision = "skip"
)

// OverlapDecision decides for a due generation under the jobnet's overlap
// policy, given whether its previous generation still runs.
func OverlapDecision(policy jobnet.Overlap, previousRunning bool) Decision {
	if !previousRunning {
		return DecisionStart
	}
	if policy == "" {
		policy = OverlapDefault
	}
	switch policy {
	case jobnet.OverlapConcurrent:
		return DecisionStart
	case jobnet.OverlapSkip:
		return DecisionSkip
	default:
		return DecisionWait
	}
}
