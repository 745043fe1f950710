package ops

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Read models of the operations pages: today's generations with counts and
// what needs attention, and the daily and monthly schedule (generations
// merged with the plan beyond the planning horizon).

// TodayPageSize is how many generations one page of Today lists.
const TodayPageSize = 500

// AttentionLimit bounds the "needs attention" list.
const AttentionLimit = 200

// DayFilter narrows the generations of a business date.
type DayFilter struct {
	Folder string
	States []jobrun.GenState
	Text   string
}

// TodayQuery asks for the Today page: the business date (nil: the current one
// of the calendar), the calendar ("" = the main one), filters and a page.
type TodayQuery struct {
	Date     *calendar.Date
	Calendar string
	Filter   DayFilter
	Offset   int
	Limit    int
}

// Attention is a generation that needs an operator, with its problem units.
type Attention struct {
	Generation store.Generation
	Units      []store.UnitRun
}

// TodayView is what the Today page shows.
type TodayView struct {
	Calendar  string
	Calendars []string
	// Date is the business date shown; Current is the calendar's current one.
	Date, Current calendar.Date
	Location      *time.Location
	// Counts are the generations of the date by state (filters apply).
	Counts map[jobrun.GenState]int
	Total  int
	// Attention lists what needs an operator first.
	Attention []Attention
	// Generations is one page of the matching generations; Matched counts all.
	Generations []store.Generation
	Matched     int
	Offset      int
	Limit       int
}

// MainCalendar picks the calendar of the operations pages: name when given
// (it must exist), else the calendar most jobnets use (their own or their
// folder's; ties by name), else the first stored one. With no calendar at
// all it returns "" and nil.
func (s *Service) MainCalendar(ctx context.Context, name string) (string, *calendar.Calendar, []string, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	names := make([]string, 0, len(cat.CalendarDefs()))
	for n := range cat.CalendarDefs() {
		names = append(names, n)
	}
	sort.Strings(names)
	if name == "" {
		uses := map[string]int{}
		for _, j := range cat.Jobnets() {
			if n := cat.CalendarName(j); n != "" {
				uses[n]++
			}
		}
		best := -1
		for _, n := range names {
			if uses[n] > best {
				name, best = n, uses[n]
			}
		}
	}
	if name == "" {
		return "", nil, names, nil
	}
	cal, err := cat.Calendar(name)
	if err != nil {
		return "", nil, names, fmt.Errorf("calendar %q: %w", name, err)
	}
	return name, cal, names, nil
}

// CurrentBusinessDate is the business date now of jobnet's calendar, or
// of the main calendar (the one Today shows) for "": what an operator
// means by "today" (at 02:00 in Tokyo with base time 05:00, the day before).
func (s *Service) CurrentBusinessDate(ctx context.Context, jobnet string) (calendar.Date, error) {
	if jobnet == "" {
		_, cal, _, err := s.MainCalendar(ctx, "")
		if err != nil {
			return 0, err
		}
		return s.BusinessDateNow(cal), nil
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return 0, err
	}
	j, ok := cat.Jobnet(jobnet)
	if !ok {
		return 0, fmt.Errorf("jobnet %q: %w", jobnet, fault.ErrNotFound)
	}
	c, err := cat.CalendarOf(j)
	if err != nil {
		return 0, fmt.Errorf("calendar of jobnet %s: %w", jobnet, err)
	}
	return s.BusinessDateNow(c), nil
}

// BusinessDateNow is the current business date of a calendar (UTC midnight
// base when cal is nil).
func (s *Service) BusinessDateNow(cal *calendar.Calendar) calendar.Date {
	if cal == nil {
		return calendar.DateOf(s.now().UTC())
	}
	return cal.BusinessDate(s.now())
}

// Today reads the Today page.
func (s *Service) Today(ctx context.Context, q TodayQuery) (TodayView, error) {
	name, cal, names, err := s.MainCalendar(ctx, q.Calendar)
	if err != nil {
		return TodayView{}, err
	}
	v := TodayView{Calendar: name, Calendars: names, Current: s.BusinessDateNow(cal), Location: time.UTC, Counts: map[jobrun.GenState]int{}}
	if cal != nil {
		v.Location = cal.Location()
	}
	v.Date = v.Current
	if q.Date != nil {
		v.Date = *q.Date
	}
	if q.Limit <= 0 || q.Limit > TodayPageSize {
		q.Limit = TodayPageSize
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	v.Offset, v.Limit = q.Offset, q.Limit
	dq := store.DayQuery{Date: v.Date, Folder: q.Filter.Folder, States: q.Filter.States, Text: q.Filter.Text}
	counts, err := s.store.DayCounts(ctx, store.DayQuery{Date: v.Date, Folder: q.Filter.Folder, Text: q.Filter.Text})
	if err != nil {
		return v, err
	}
	for _, c := range counts {
		v.Counts[jobrun.GenState(c.State)] = c.N
		v.Total += c.N
	}
	gs, us, err := s.store.DayAttention(ctx, dq, AttentionLimit)
	if err != nil {
		return v, err
	}
	byGen := map[string][]store.UnitRun{}
	for _, u := range us {
		byGen[u.GenerationID] = append(byGen[u.GenerationID], u)
	}
	for _, g := range gs {
		v.Attention = append(v.Attention, Attention{Generation: g, Units: byGen[g.ID]})
	}
	dq.Offset, dq.Limit = q.Offset, q.Limit
	if v.Generations, v.Matched, err = s.store.DayGenerations(ctx, dq); err != nil {
		return v, err
	}
	return v, nil
}

// ScheduleItem is one line of the daily schedule: a generation, or a run the
// plan foresees that has no generation yet (Generation nil).
type ScheduleItem struct {
	Jobnet     string
	Rule       string
	StartClock calendar.ClockTime
	Scheduled  time.Time
	Generation *store.Generation
	// Explanation of a planned run.
	Explanation string
}

// ScheduleDayView is the daily schedule of one business date.
type ScheduleDayView struct {
	Calendar   string
	Calendars  []string
	Date       calendar.Date
	Current    calendar.Date
	Location   *time.Location
	Start, End time.Time // the business day on the calendar's clock
	Items      []ScheduleItem
	// Truncated: the day has more generations than the view lists.
	Truncated bool
	Now       time.Time
}

// ScheduleDayLimit bounds the lines of a daily schedule.
const ScheduleDayLimit = 5000

// calendarJobnets lists the jobnets the schedule of calendar name shows:
// those planned on it and those without any calendar. It returns nil (no
// filter) when the installation has at most one calendar, and keep, which
// tells whether a jobnet is shown.
func (s *Service) calendarJobnets(ctx context.Context, name string, names []string) ([]string, func(*jobnet.Jobnet) bool, error) {
	if len(names) <= 1 || name == "" {
		return nil, nil, nil
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, nil, err
	}
	keep := func(j *jobnet.Jobnet) bool {
		n := cat.CalendarName(j)
		return n == "" || n == name
	}
	paths := []string{}
	for _, j := range cat.Jobnets() {
		if keep(j) {
			paths = append(paths, j.Path())
		}
	}
	return paths, keep, nil
}

// ScheduleDay reads the daily schedule of a business date: its generations
// and the planned runs that have none yet, of the jobnets planned on the
// calendar shown (and those without one) when there are several calendars.
func (s *Service) ScheduleDay(ctx context.Context, calName string, d *calendar.Date) (ScheduleDayView, error) {
	name, cal, names, err := s.MainCalendar(ctx, calName)
	if err != nil {
		return ScheduleDayView{}, err
	}
	v := ScheduleDayView{Calendar: name, Calendars: names, Current: s.BusinessDateNow(cal), Location: time.UTC, Now: s.now()}
	v.Date = v.Current
	if d != nil {
		v.Date = *d
	}
	if cal != nil {
		v.Location = cal.Location()
		v.Start, v.End = cal.DayStart(v.Date), cal.DayEnd(v.Date)
	} else {
		v.Start = v.Date.At(0, time.UTC)
		v.End = v.Start.Add(24 * time.Hour)
	}
	paths, keep, err := s.calendarJobnets(ctx, name, names)
	if err != nil {
		return v, err
	}
	gs, total, err := s.store.DayGenerations(ctx, store.DayQuery{Date: v.Date, Jobnets: paths, Limit: ScheduleDayLimit})
	if err != nil {
		return v, err
	}
	v.Truncated = total > len(gs)
	have := map[string]bool{}
	for i := range gs {
		g := &gs[i]
		have[planKey(g.Jobnet, g.Rule, g.StartClock)] = true
		v.Items = append(v.Items, ScheduleItem{Jobnet: g.Jobnet, Rule: g.Rule, StartClock: g.StartClock, Scheduled: g.ScheduledAt, Generation: g, Explanation: g.Explanation})
	}
	runs, err := s.planRuns(ctx, v.Date, v.Date, keep)
	if err != nil {
		return v, err
	}
	for _, r := range runs {
		if have[planKey(r.Jobnet, r.Rule, r.StartClock)] || len(v.Items) >= ScheduleDayLimit {
			continue
		}
		v.Items = append(v.Items, ScheduleItem{Jobnet: r.Jobnet, Rule: r.Rule, StartClock: r.StartClock, Scheduled: r.Start, Explanation: r.Explanation})
	}
	sort.SliceStable(v.Items, func(i, j int) bool {
		a, b := v.Items[i], v.Items[j]
		if !a.Scheduled.Equal(b.Scheduled) {
			return a.Scheduled.Before(b.Scheduled)
		}
		return a.Jobnet < b.Jobnet
	})
	return v, nil
}

func planKey(jobnet, rule string, clock calendar.ClockTime) string {
	return fmt.Sprintf("%s\x00%s\x00%d", jobnet, rule, clock)
}

// planRuns plans the jobnets keep selects (nil: all) over [from, to].
func (s *Service) planRuns(ctx context.Context, from, to calendar.Date, keep func(*jobnet.Jobnet) bool) ([]plan.Run, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	res, err := cat.Plan(from, to, keep)
	if err != nil {
		return nil, fmt.Errorf("plan %s..%s: %w", from, to, err)
	}
	return plan.Flatten(res), nil
}

// MonthDay is one day of the monthly schedule.
type MonthDay struct {
	Date calendar.Date
	Open bool
	// Planned counts the generations of the day, or, for a day without
	// any, the runs the plan foresees.
	Planned int
	// FromPlan: Planned comes from the plan (nothing generated yet).
	FromPlan bool
	Done     int // ended normally or with warning
	Failed   int // ended abnormally or killed
	Running  int
}

// ScheduleMonthView is the monthly schedule.
type ScheduleMonthView struct {
	Calendar  string
	Calendars []string
	Month     calendar.Date // first day of the month
	Current   calendar.Date
	Days      []MonthDay
}

// ScheduleMonth reads the monthly schedule of the month containing d. Like
// the daily schedule it counts the jobnets of the calendar shown (and those
// without one) when there are several calendars.
func (s *Service) ScheduleMonth(ctx context.Context, calName string, d *calendar.Date) (ScheduleMonthView, error) {
	name, cal, names, err := s.MainCalendar(ctx, calName)
	if err != nil {
		return ScheduleMonthView{}, err
	}
	v := ScheduleMonthView{Calendar: name, Calendars: names, Current: s.BusinessDateNow(cal)}
	day := v.Current
	if d != nil {
		day = *d
	}
	v.Month = day.FirstOfMonth()
	last := v.Month.AddMonths(1).AddDays(-1)
	paths, keep, err := s.calendarJobnets(ctx, name, names)
	if err != nil {
		return v, err
	}
	counts, err := s.store.RangeCounts(ctx, v.Month, last, paths)
	if err != nil {
		return v, err
	}
	runs, err := s.planRuns(ctx, v.Month, last, keep)
	if err != nil {
		return v, err
	}
	planned := map[calendar.Date]int{}
	for _, r := range runs {
		planned[r.BusinessDate]++
	}
	idx := map[calendar.Date]*MonthDay{}
	for x := v.Month; x <= last; x++ {
		md := MonthDay{Date: x, Open: true}
		if cal != nil {
			md.Open = cal.IsOpen(x)
		}
		v.Days = append(v.Days, md)
	}
	for i := range v.Days {
		idx[v.Days[i].Date] = &v.Days[i]
	}
	for _, c := range counts {
		md := idx[c.Date]
		if md == nil {
			continue
		}
		md.Planned += c.N
		switch c.State {
		case jobrun.GenEndedNormal, jobrun.GenEndedWarning:
			md.Done += c.N
		case jobrun.GenEndedAbnormal, jobrun.GenKilled:
			md.Failed += c.N
		case jobrun.GenRunning:
			md.Running += c.N
		}
	}
	for i := range v.Days {
		md := &v.Days[i]
		if md.Planned == 0 && planned[md.Date] > 0 {
			md.Planned, md.FromPlan = planned[md.Date], true
		}
	}
	return v, nil
}

// PlanRows plans the current definitions over [from, to] (one jobnet when
// jobnet is not "").
func (s *Service) PlanRows(ctx context.Context, from, to calendar.Date, jobnetPath string) ([]plan.Run, error) {
	if to < from {
		return nil, fmt.Errorf("plan: to %s is before from %s: %w", to, from, fault.ErrInvalid)
	}
	if to-from > 366*2 {
		return nil, fmt.Errorf("plan: at most two years at a time: %w", fault.ErrInvalid)
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	var keep func(*jobnet.Jobnet) bool
	if jobnetPath != "" {
		if _, ok := cat.Jobnet(jobnetPath); !ok {
			return nil, fmt.Errorf("jobnet %q: %w", jobnetPath, fault.ErrNotFound)
		}
		keep = func(j *jobnet.Jobnet) bool { return j.Path() == jobnetPath }
	}
	res, err := cat.Plan(from, to, keep)
	if err != nil {
		return nil, fmt.Errorf("plan %s..%s: %w", from, to, err)
	}
	return plan.Flatten(res), nil
}
