package plan

import (
	"encoding/binary"
	"sync"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// memo shares the plans of identical schedules between the jobnets of one
// Planner. Many jobnets carry the same rules (every day at 06:00, the 15th
// before a closed day); their plans differ only in Run.Jobnet and
// Dropped.Jobnet. A schedule is kept on its second sighting, so a Planner
// that plans only distinct schedules keeps nothing but their keys. Rules
// with exclusive_with are never shared: their plan depends on the folder and
// on the resolver's answers.
type memo struct {
	mu   sync.Mutex
	plan map[string]*Result // nil: seen once
	keys sync.Pool          // *[]byte
}

// lookup returns the kept plan of the schedule with key k, and whether to
// keep the plan about to be made for it.
func (m *memo) lookup(k []byte) (kept *Result, keep bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, seen := m.plan[string(k)]
	switch {
	case r != nil:
		return r, false
	case seen:
		return nil, true
	}
	if m.plan == nil {
		m.plan = map[string]*Result{}
	}
	m.plan[string(k)] = nil
	return nil, false
}

// keep stores the plan of the schedule with key k; res is copied, so the
// caller keeps its slices.
func (m *memo) keep(k []byte, res Result) {
	t := &Result{}
	if len(res.Runs) > 0 {
		t.Runs = append(make([]Run, 0, len(res.Runs)), res.Runs...)
	}
	if len(res.Dropped) > 0 {
		t.Dropped = append(make([]Dropped, 0, len(res.Dropped)), res.Dropped...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plan[string(k)] = t
}

// instantiate returns a copy of the kept plan t for the jobnet path.
// Explanations and Steps are shared, as they are between the runs of one
// rule and date.
func instantiate(t *Result, path string) Result {
	var res Result
	if len(t.Runs) > 0 {
		res.Runs = make([]Run, len(t.Runs))
		copy(res.Runs, t.Runs)
		for i := range res.Runs {
			res.Runs[i].Jobnet = path
		}
	}
	if len(t.Dropped) > 0 {
		res.Dropped = make([]Dropped, len(t.Dropped))
		copy(res.Dropped, t.Dropped)
		for i := range res.Dropped {
			res.Dropped[i].Jobnet = path
		}
	}
	return res
}

// appendScheduleKey appends an encoding of every field of rules that the
// plan depends on, and reports false when the schedule must not be shared.
// A rule without a name is named by its position, which the encoding keeps.
func appendScheduleKey(b []byte, rules []jobnet.Rule) ([]byte, bool) {
	b = binary.AppendUvarint(b, uint64(len(rules)))
	for i := range rules {
		r := &rules[i]
		if len(r.ExclusiveWith) > 0 || len(r.Except) > 0 {
			return b, false
		}
		b = appendKeyString(b, r.Name)
		b = appendKeyString(b, string(r.Kind))
		b = appendKeyString(b, string(r.Period))
		b = binary.AppendVarint(b, int64(r.Day))
		b = binary.AppendVarint(b, int64(r.Nth))
		if r.Weekday != nil {
			b = binary.AppendVarint(b, 1+int64(*r.Weekday))
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(r.Weekdays)))
		for _, w := range r.Weekdays {
			b = binary.AppendVarint(b, int64(w))
		}
		b = binary.AppendVarint(b, int64(r.Every))
		b = appendKeyString(b, string(r.Unit))
		if r.Anchor != nil {
			b = append(b, 1)
			b = binary.AppendVarint(b, int64(*r.Anchor))
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(r.Dates)))
		for _, d := range r.Dates {
			b = binary.AppendVarint(b, int64(d))
		}
		b = appendKeyString(b, string(r.Closed))
		b = binary.AppendVarint(b, int64(r.MaxShift))
		b = binary.AppendVarint(b, int64(r.Offset))
		b = binary.AppendUvarint(b, uint64(len(r.Exclude)))
		for _, d := range r.Exclude {
			b = binary.AppendVarint(b, int64(d))
		}
		b = binary.AppendUvarint(b, uint64(len(r.Start)))
		for _, s := range r.Start {
			b = binary.AppendVarint(b, int64(s))
		}
		if r.Repeat != nil {
			b = append(b, 1)
			b = binary.AppendVarint(b, int64(r.Repeat.Every))
			b = binary.AppendVarint(b, int64(r.Repeat.Until))
		} else {
			b = append(b, 0)
		}
		for _, d := range [2]*calendar.Date{r.ValidFrom, r.ValidTo} {
			if d != nil {
				b = append(b, 1)
				b = binary.AppendVarint(b, int64(*d))
			} else {
				b = append(b, 0)
			}
		}
	}
	return b, true
}

func appendKeyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
