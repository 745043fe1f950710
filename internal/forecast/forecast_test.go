package forecast_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	return l
}()

// at is 2026-04-01 (a Wednesday) hh:mm in Tokyo; hh may exceed 23.
func at(hh, mm int) time.Time {
	return calendar.NewDate(2026, 4, 1).At(time.Duration(hh)*time.Hour+time.Duration(mm)*time.Minute, tokyo)
}

func mins(ms ...int) []forecast.Sample {
	out := make([]forecast.Sample, len(ms))
	for i, m := range ms {
		d := calendar.NewDate(2026, 3, 31) - calendar.Date(i)
		out[i] = forecast.Sample{Date: d, Class: forecast.DayClass{Weekday: d.Weekday()}, Duration: time.Duration(m) * time.Minute}
	}
	return out
}

func TestEstimate(t *testing.T) {
	wed := forecast.DayClass{Weekday: time.Wednesday}
	monday := func(ss []forecast.Sample, m int) []forecast.Sample {
		for i := range ss {
			if ss[i].Class.Weekday == time.Monday {
				ss[i].Duration = time.Duration(m) * time.Minute
			}
		}
		return ss
	}
	monthEnd := func(ss []forecast.Sample, m int, idx ...int) []forecast.Sample {
		for _, i := range idx {
			ss[i].Class.MonthEnd, ss[i].Duration = true, time.Duration(m)*time.Minute
		}
		return ss
	}
	tests := []struct {
		name    string
		samples []forecast.Sample
		target  forecast.DayClass
		want    forecast.Estimate
	}{
		{"no history", nil, wed, forecast.Estimate{Basis: forecast.BasisNone}},
		{"p90 by nearest rank", mins(10, 11, 12, 13, 14, 15, 16, 17, 18, 60), wed,
			forecast.Estimate{Duration: 18 * time.Minute, Basis: forecast.BasisAll, N: 10}},
		{"one sample", mins(7), wed, forecast.Estimate{Duration: 7 * time.Minute, Basis: forecast.BasisAll, N: 1}},
		{"only the newest window", append(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), mins(90, 90, 90)...), wed,
			forecast.Estimate{Duration: 10 * time.Minute, Basis: forecast.BasisAll, N: 20}},
		{"mondays are slower: used on a monday", monday(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 40),
			forecast.DayClass{Weekday: time.Monday}, forecast.Estimate{Duration: 40 * time.Minute, Basis: forecast.BasisWeekday, N: 3}},
		{"mondays are slower: not used on a wednesday", monday(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 40),
			wed, forecast.Estimate{Duration: 10 * time.Minute, Basis: forecast.BasisAll, N: 17}},
		{"a small weekday difference is noise", monday(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 11),
			forecast.DayClass{Weekday: time.Monday}, forecast.Estimate{Duration: 11 * time.Minute, Basis: forecast.BasisAll, N: 20}},
		{"month end is slower", monthEnd(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 50, 0, 7, 14),
			forecast.DayClass{Weekday: time.Thursday, MonthEnd: true}, forecast.Estimate{Duration: 50 * time.Minute, Basis: forecast.BasisMonthEnd, N: 3}},
		{"month-end runs left out on other days", monthEnd(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 50, 0, 8, 16),
			forecast.DayClass{Weekday: time.Thursday}, forecast.Estimate{Duration: 10 * time.Minute, Basis: forecast.BasisAll, N: 17}},
		{"too few month ends", monthEnd(mins(10, 10, 10, 10, 10, 10, 10, 10, 10, 10), 50, 0, 9),
			forecast.DayClass{Weekday: time.Thursday, MonthEnd: true}, forecast.Estimate{Duration: 50 * time.Minute, Basis: forecast.BasisAll, N: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := forecast.Params{}.Estimate(tt.samples, tt.target)
			require.Equal(t, tt.want, got)
		})
	}
}

func job(name string, pool string) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop, Pool: pool}}
}

func edges(pairs ...string) []jobnet.Edge {
	var out []jobnet.Edge
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, jobnet.Edge{From: pairs[i], To: pairs[i+1]})
	}
	return out
}

type gen struct {
	net      jobnet.Net
	start    time.Time
	limit    int
	deadline time.Time
	expected map[string]int // minutes
	states   map[string]forecast.UnitState
	ended    time.Time
}

func build(t *testing.T, id string, g gen) forecast.Gen {
	t.Helper()
	s, err := forecast.Compile(g.net)
	require.NoError(t, err)
	exp := make([]time.Duration, len(s.Units))
	for i, u := range s.Units {
		exp[i] = time.Duration(g.expected[u.Path]) * time.Minute
	}
	return forecast.Build(s, forecast.GenParams{ID: id, Start: g.start, MaxConcurrent: g.limit, Deadline: g.deadline,
		States: g.states, Expected: exp, Ended: !g.ended.IsZero(), EndedAt: g.ended})
}

func ended(state jobrun.JobState, from, to time.Time) forecast.UnitState {
	return forecast.UnitState{State: state, StartedAt: &from, EndedAt: &to}
}

func running(from time.Time) forecast.UnitState {
	return forecast.UnitState{State: jobrun.StateRunning, StartedAt: &from}
}

func TestRun(t *testing.T) {
	chain := jobnet.Net{Units: []jobnet.Unit{job("a", ""), job("b", ""), job("c", "")}, Edges: edges("a", "b", "b", "c")}
	diamond := jobnet.Net{Units: []jobnet.Unit{job("a", ""), job("b", ""), job("c", ""), job("d", "")},
		Edges: edges("a", "b", "a", "c", "b", "d", "c", "d")}
	nested := jobnet.Net{Units: []jobnet.Unit{job("a", ""),
		{Name: "sub", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{Units: []jobnet.Unit{job("x", ""), job("y", ""), job("z", "")}, Edges: edges("x", "y")}},
		job("b", "")}, Edges: edges("a", "sub", "sub", "b")}
	recovery := jobnet.Net{Units: []jobnet.Unit{job("a", ""), job("fix", ""), job("b", "")},
		Edges: []jobnet.Edge{{From: "a", To: "fix", Kind: jobnet.EdgeRecovery}, {From: "a", To: "b"}}}
	pair := jobnet.Net{Units: []jobnet.Unit{job("p", "db"), job("q", "db")}}
	one := jobnet.Net{Units: []jobnet.Unit{job("load", "db")}}

	type want struct {
		end      time.Time
		path     []string
		risk     forecast.Risk
		unitEnds map[string]time.Time
	}
	tests := []struct {
		name  string
		now   time.Time
		pools map[string]int
		gens  []gen
		want  []want
	}{
		{"chain before its start", at(21, 0), nil,
			[]gen{{net: chain, start: at(22, 0), expected: map[string]int{"a": 10, "b": 20, "c": 30}, deadline: at(23, 0)}},
			[]want{{end: at(23, 0), path: []string{"a", "b", "c"}, risk: forecast.RiskOK,
				unitEnds: map[string]time.Time{"a": at(22, 10), "b": at(22, 30), "c": at(23, 0)}}}},
		{"diamond: the longer branch is critical", at(21, 0), nil,
			[]gen{{net: diamond, start: at(22, 0), expected: map[string]int{"a": 10, "b": 60, "c": 20, "d": 5}}},
			[]want{{end: at(23, 15), path: []string{"a", "b", "d"}}}},
		{"a running unit past its expected end ends no earlier than now", at(22, 45), nil,
			[]gen{{net: chain, start: at(22, 0), expected: map[string]int{"a": 10, "b": 20, "c": 30}, deadline: at(23, 30),
				states: map[string]forecast.UnitState{"a": ended(jobrun.StateEndedNormal, at(22, 0), at(22, 10)), "b": running(at(22, 10))}}},
			[]want{{end: at(23, 15), path: []string{"a", "b", "c"}, risk: forecast.RiskOK,
				unitEnds: map[string]time.Time{"a": at(22, 10), "b": at(22, 45), "c": at(23, 15)}}}},
		{"a slow unit puts the deadline at risk", at(23, 5), nil,
			[]gen{{net: chain, start: at(22, 0), expected: map[string]int{"a": 10, "b": 20, "c": 30}, deadline: at(23, 30),
				states: map[string]forecast.UnitState{"a": ended(jobrun.StateEndedNormal, at(22, 0), at(22, 10)), "b": running(at(22, 10))}}},
			[]want{{end: at(23, 35), path: []string{"a", "b", "c"}, risk: forecast.RiskAtRisk}}},
		{"deadline passed while running", at(23, 31), nil,
			[]gen{{net: chain, start: at(22, 0), expected: map[string]int{"a": 10, "b": 20, "c": 30}, deadline: at(23, 30),
				states: map[string]forecast.UnitState{"a": ended(jobrun.StateEndedNormal, at(22, 0), at(22, 10)), "b": ended(jobrun.StateEndedNormal, at(22, 10), at(22, 40)), "c": running(at(22, 40))}}},
			[]want{{end: at(23, 31), risk: forecast.RiskMissed, path: []string{"a", "b", "c"}}}},
		{"ended generations keep their end", at(25, 0), nil,
			[]gen{{net: one, start: at(22, 0), expected: map[string]int{"load": 10}, deadline: at(22, 30), ended: at(22, 40),
				states: map[string]forecast.UnitState{"load": ended(jobrun.StateEndedNormal, at(22, 0), at(22, 40))}}},
			[]want{{end: at(22, 40), risk: forecast.RiskMissed, path: []string{"load"}}}},
		{"nested jobnet: its longest unit is on the path", at(21, 0), nil,
			[]gen{{net: nested, start: at(22, 0), expected: map[string]int{"a": 10, "sub/x": 10, "sub/y": 10, "sub/z": 15, "b": 5}}},
			[]want{{end: at(22, 35), path: []string{"a", "sub", "sub/x", "sub/y", "b"},
				unitEnds: map[string]time.Time{"sub": at(22, 30), "sub/z": at(22, 25)}}}},
		{"recovery units are predicted not to run", at(21, 0), nil,
			[]gen{{net: recovery, start: at(22, 0), expected: map[string]int{"a": 10, "fix": 600, "b": 10}}},
			[]want{{end: at(22, 20), path: []string{"a", "b"}}}},
		{"a recovery unit runs after an abnormal end", at(22, 15), nil,
			[]gen{{net: recovery, start: at(22, 0), expected: map[string]int{"a": 10, "fix": 60, "b": 10},
				states: map[string]forecast.UnitState{"a": ended(jobrun.StateEndedAbnormal, at(22, 0), at(22, 10))}}},
			[]want{{end: at(23, 15), path: []string{"a", "fix"}}}},
		{"generation concurrency limit", at(21, 0), nil,
			[]gen{{net: pair, start: at(22, 0), limit: 1, expected: map[string]int{"p": 60, "q": 60}}},
			[]want{{end: at(24, 0), path: []string{"q"}}}},
		{"a pool shared by two generations", at(21, 0), map[string]int{"db": 1},
			[]gen{{net: one, start: at(22, 0), expected: map[string]int{"load": 60}},
				{net: one, start: at(22, 0), expected: map[string]int{"load": 60}, deadline: at(23, 30)}},
			[]want{{end: at(23, 0), path: []string{"load"}}, {end: at(24, 0), path: []string{"load"}, risk: forecast.RiskAtRisk}}},
		{"a running job holds its pool slot", at(22, 30), map[string]int{"db": 1},
			[]gen{{net: one, start: at(22, 0), expected: map[string]int{"load": 60}, states: map[string]forecast.UnitState{"load": running(at(22, 0))}},
				{net: one, start: at(22, 10), expected: map[string]int{"load": 60}}},
			[]want{{end: at(23, 0), path: []string{"load"}}, {end: at(24, 0), path: []string{"load"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := forecast.Input{Now: tt.now, Pools: tt.pools}
			for i, g := range tt.gens {
				in.Gens = append(in.Gens, build(t, string(rune('A'+i)), g))
			}
			got := forecast.Run(in)
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				require.Equal(t, w.end.UTC(), got[i].End.UTC(), "end of %s", got[i].ID)
				require.Equal(t, w.path, got[i].CriticalPath)
				require.Equal(t, w.risk, got[i].Risk)
				for _, u := range got[i].Units {
					if e, ok := w.unitEnds[u.Path]; ok {
						require.Equal(t, e.UTC(), u.End.UTC(), "end of %s", u.Path)
					}
					require.Equal(t, contains(w.path, u.Path), u.Critical, u.Path)
				}
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestUnitDeadline(t *testing.T) {
	net := jobnet.Net{Units: []jobnet.Unit{job("a", ""), job("b", "")}, Edges: edges("a", "b")}
	s, err := forecast.Compile(net)
	require.NoError(t, err)
	g := forecast.Build(s, forecast.GenParams{ID: "g", Start: at(22, 0), Expected: []time.Duration{time.Hour, time.Hour},
		UnitDeadlines: []time.Time{at(22, 30), at(24, 30)}})
	got := forecast.Run(forecast.Input{Now: at(21, 0), Gens: []forecast.Gen{g}})[0]
	require.Equal(t, forecast.RiskAtRisk, got.Units[0].Risk)
	require.Equal(t, forecast.RiskOK, got.Units[1].Risk)
	require.Equal(t, forecast.RiskNone, got.Risk)
}
