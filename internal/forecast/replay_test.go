package forecast_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TestReplayedHistory replays four months of a weekday batch whose load
// job takes 20 minutes, 30 on Mondays and 60 on the last open day of the
// month, with noise of ±1 minute. The forecast of a chain extract(5) →
// load → report(5) starting at 22:00 must pick the right class each day.
func TestReplayedHistory(t *testing.T) {
	cal, err := calendar.Build(calendar.Definition{Name: "weekdays", TimeZone: "Asia/Tokyo",
		ClosedWeekdays: []calendar.Weekday{calendar.Weekday(time.Saturday), calendar.Weekday(time.Sunday)}}, nil)
	require.NoError(t, err)
	loadOn := func(d calendar.Date) time.Duration {
		c := forecast.ClassOf(cal, d)
		base := 20
		switch {
		case c.MonthEnd:
			base = 60
		case c.Weekday == time.Monday:
			base = 30
		}
		noise := time.Duration(int(d)%3-1) * time.Minute
		return time.Duration(base)*time.Minute + noise
	}
	history := func(before calendar.Date) map[string][]forecast.Sample {
		h := map[string][]forecast.Sample{}
		for d := before - 1; d >= before-120; d-- {
			if !cal.IsOpen(d) {
				continue
			}
			c := forecast.ClassOf(cal, d)
			h["extract"] = append(h["extract"], forecast.Sample{Date: d, Class: c, Duration: 5 * time.Minute})
			h["load"] = append(h["load"], forecast.Sample{Date: d, Class: c, Duration: loadOn(d)})
			h["report"] = append(h["report"], forecast.Sample{Date: d, Class: c, Duration: 5 * time.Minute})
		}
		return h
	}
	net := jobnet.Net{Units: []jobnet.Unit{job("extract", ""), job("load", ""), job("report", "")}, Edges: edges("extract", "load", "load", "report")}
	shape, err := forecast.Compile(net)
	require.NoError(t, err)

	tests := []struct {
		date  calendar.Date
		basis forecast.Basis
		load  time.Duration // the p90 of the class, noise included
	}{
		{calendar.NewDate(2026, 4, 15), forecast.BasisWeekday, 21 * time.Minute},  // Wednesday
		{calendar.NewDate(2026, 4, 20), forecast.BasisWeekday, 31 * time.Minute},  // Monday
		{calendar.NewDate(2026, 4, 30), forecast.BasisMonthEnd, 61 * time.Minute}, // Thursday, last open day of April
		{calendar.NewDate(2026, 5, 29), forecast.BasisMonthEnd, 61 * time.Minute}, // Friday; May 31 is a Sunday
	}
	for _, tt := range tests {
		t.Run(tt.date.String(), func(t *testing.T) {
			h := history(tt.date)
			target := forecast.ClassOf(cal, tt.date)
			exp := make([]time.Duration, len(shape.Units))
			var est forecast.Estimate
			for i, u := range shape.Units {
				e := forecast.Params{}.Estimate(h[u.Path], target)
				exp[i] = e.Duration
				if u.Path == "load" {
					est = e
				}
			}
			require.Equal(t, tt.basis, est.Basis)
			require.Equal(t, tt.load, est.Duration)
			start := tt.date.At(22*time.Hour, cal.Location())
			g := forecast.Build(shape, forecast.GenParams{ID: "g", Start: start, Expected: exp})
			got := forecast.Run(forecast.Input{Now: start.Add(-time.Hour), Gens: []forecast.Gen{g}})[0]
			require.Equal(t, start.Add(10*time.Minute+tt.load).UTC(), got.End.UTC())
		})
	}
}
