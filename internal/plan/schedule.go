package plan

import (
	"fmt"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// NextHorizonDays is how far Next looks ahead: two years of business dates.
const NextHorizonDays = 731

// nextChunkDays is how many business dates Next plans at a time.
const nextChunkDays = 92

// Schedule is a root jobnet's rules compiled against its calendar: the
// `Next(time.Time) time.Time` seam of the scheduler, and range expansion.
type Schedule struct {
	jobnet   jobnet.Jobnet
	cal      *calendar.Calendar
	resolver Resolver

	mu    sync.Mutex
	cache [2]chunkRuns // the two chunks used last, most recent first
}

type chunkRuns struct {
	from calendar.Date
	runs []Run // nil: empty slot
}

// NewSchedule validates the jobnet's rules on the calendar. The resolver
// supplies exclusive_with dates and may be nil when no rule uses them.
func NewSchedule(j *jobnet.Jobnet, c *calendar.Calendar, r Resolver) (*Schedule, error) {
	if c == nil {
		return nil, fmt.Errorf("schedule of %q: no calendar", j.Path())
	}
	if ps := ValidateOn(c, j.Rules); len(ps) > 0 {
		return nil, fmt.Errorf("schedule of %q: %w", j.Path(), ps)
	}
	jc := *j
	jc.Rules = append([]jobnet.Rule(nil), j.Rules...)
	return &Schedule{jobnet: jc, cal: c, resolver: r}, nil
}

// Runs plans the business dates from..to.
func (s *Schedule) Runs(from, to calendar.Date) (Result, error) {
	p, err := NewPlanner(Params{Calendar: s.cal, From: from, To: to, Resolver: s.resolver})
	if err != nil {
		return Result{}, err
	}
	return p.Plan(&s.jobnet)
}

// NextRun returns the first planned run that starts strictly after after,
// looking NextHorizonDays ahead; ok is false when there is none.
func (s *Schedule) NextRun(after time.Time) (run Run, ok bool, err error) {
	// A run of an earlier business date starts inside that date's business
	// day, so before after's business day begins.
	first := s.cal.BusinessDate(after)
	last := first + NextHorizonDays
	for from := first - calendar.Date(mod(int(first), nextChunkDays)); from <= last; from += nextChunkDays {
		runs, err := s.chunk(from)
		if err != nil {
			return Run{}, false, fmt.Errorf("next run of %q after %s: %w", s.jobnet.Path(), after.Format(time.RFC3339), err)
		}
		for _, r := range runs {
			if r.BusinessDate > last {
				return Run{}, false, nil
			}
			if r.Start.After(after) {
				return r, true, nil
			}
		}
	}
	return Run{}, false, nil
}

// chunk returns the runs of the nextChunkDays business dates from from,
// planning them unless they are one of the cached chunks.
func (s *Schedule) chunk(from calendar.Date) ([]Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.cache {
		if c.runs != nil && c.from == from {
			s.cache[0], s.cache[i] = c, s.cache[0]
			return c.runs, nil
		}
	}
	res, err := s.Runs(from, from+nextChunkDays-1)
	if err != nil {
		return nil, err
	}
	if res.Runs == nil {
		res.Runs = []Run{}
	}
	s.cache[1], s.cache[0] = s.cache[0], chunkRuns{from: from, runs: res.Runs}
	return res.Runs, nil
}

func mod(a, b int) int {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Next returns the start of the first planned run strictly after after, or
// the zero time when there is none within NextHorizonDays (or exclusive_with
// dates cannot be resolved; NextRun reports that error).
func (s *Schedule) Next(after time.Time) time.Time {
	r, ok, err := s.NextRun(after)
	if err != nil || !ok {
		return time.Time{}
	}
	return r.Start
}
