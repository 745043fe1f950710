package plan

import (
	"slices"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// MoveKind says how a run differs between two plans.
type MoveKind string

const (
	// MoveAdded: the run is only in the new plan.
	MoveAdded MoveKind = "added"
	// MoveRemoved: the run is only in the old plan.
	MoveRemoved MoveKind = "removed"
	// MoveMoved: the same candidate now runs on another date or at another time.
	MoveMoved MoveKind = "moved"
)

// Move is one difference between two plans. Before is zero for added runs,
// After for removed ones.
type Move struct {
	Kind   MoveKind
	Before Run
	After  Run
}

type moveKey struct {
	jobnet, rule string
	origin       calendar.Date
	seq          int
}

// Moved compares two plans of the same jobnets (e.g. before and after a
// calendar import) and returns the runs added, removed and moved, in the
// order of their (new, else old) start. A run is the same run in both when
// jobnet, rule, candidate date (Origin) and its position among that
// candidate's starts agree; it moved when its business date or start differs.
func Moved(before, after []Run) []Move {
	index := func(runs []Run) map[moveKey]int {
		m := make(map[moveKey]int, len(runs))
		seq := map[moveKey]int{}
		for i, r := range runs {
			k := moveKey{jobnet: r.Jobnet, rule: r.Rule, origin: r.Origin}
			n := seq[k]
			seq[k] = n + 1
			k.seq = n
			m[k] = i
		}
		return m
	}
	bi, ai := index(before), index(after)
	var out []Move
	for k, i := range bi {
		b := before[i]
		j, ok := ai[k]
		switch {
		case !ok:
			out = append(out, Move{Kind: MoveRemoved, Before: b})
		case after[j].BusinessDate != b.BusinessDate || !after[j].Start.Equal(b.Start):
			out = append(out, Move{Kind: MoveMoved, Before: b, After: after[j]})
		}
	}
	for k, j := range ai {
		if _, ok := bi[k]; !ok {
			out = append(out, Move{Kind: MoveAdded, After: after[j]})
		}
	}
	slices.SortFunc(out, func(x, y Move) int {
		tx, ty := x.After, y.After
		if x.Kind == MoveRemoved {
			tx = x.Before
		}
		if y.Kind == MoveRemoved {
			ty = y.Before
		}
		if c := tx.Start.Compare(ty.Start); c != 0 {
			return c
		}
		if tx.Jobnet != ty.Jobnet {
			if tx.Jobnet < ty.Jobnet {
				return -1
			}
			return 1
		}
		if x.Kind != y.Kind {
			if x.Kind < y.Kind {
				return -1
			}
			return 1
		}
		if tx.Rule < ty.Rule {
			return -1
		}
		if tx.Rule > ty.Rule {
			return 1
		}
		return 0
	})
	return out
}
