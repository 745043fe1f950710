package pages

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/a-h/templ"
)

// ForecastCell is a generation's predicted (or actual) end against its
// deadline.
type ForecastCell struct {
	End   string
	Ended bool
	// Deadline is empty when the generation has none.
	Deadline     string
	DeadlineText string
	Slack        string
	// Risk is ok, at_risk or missed ("" without a deadline).
	Risk         string
	CriticalPath []string
}

// AtRisk reports whether the deadline is at risk or missed.
func (f *ForecastCell) AtRisk() bool { return f != nil && (f.Risk == "at_risk" || f.Risk == "missed") }

// DurationChart is one unit's history of successful run durations.
type DurationChart struct {
	Path string
	// Bars are the durations in seconds, oldest first, with their labels.
	Bars   []DurationBar
	Expect int64 // the expected duration (seconds), 0 without history
	Basis  string
}

// DurationBar is one run.
type DurationBar struct {
	Seconds int64
	Label   string // business date and duration, for the tooltip
	RunID   string
}

// DurationsView is the run-durations page of a jobnet.
type DurationsView struct {
	Jobnet string
	Folder string
	Name   string
	Days   int
	Charts []DurationChart
}

// Chart geometry.
const (
	chartW, chartH = 360, 64
	chartPad       = 2
)

func (c DurationChart) max() int64 {
	m := c.Expect
	for _, b := range c.Bars {
		m = max(m, b.Seconds)
	}
	return max(m, 1)
}

// ViewBox is the chart's SVG viewBox.
func (c DurationChart) ViewBox() string { return fmt.Sprintf("0 0 %d %d", chartW, chartH) }

// ChartBar is one bar's geometry.
type ChartBar struct {
	X, Y, W, H string
	Title      string
	Over       bool
	Href       templ.SafeURL
}

// Rects lays the bars out.
func (c DurationChart) Rects() []ChartBar {
	n := len(c.Bars)
	if n == 0 {
		return nil
	}
	m := c.max()
	w := float64(chartW-2*chartPad) / float64(n)
	out := make([]ChartBar, n)
	for i, b := range c.Bars {
		h := float64(chartH-2*chartPad) * float64(b.Seconds) / float64(m)
		h = max(h, 1)
		out[i] = ChartBar{X: num(chartPad + float64(i)*w + w*0.1), Y: num(float64(chartH-chartPad) - h), W: num(w * 0.8), H: num(h),
			Title: b.Label, Over: c.Expect > 0 && b.Seconds > c.Expect, Href: RunHref(b.RunID)}
	}
	return out
}

// ExpectY is the y of the expected-duration line.
func (c DurationChart) ExpectY() string {
	return num(float64(chartH-chartPad) - float64(chartH-2*chartPad)*float64(c.Expect)/float64(c.max()))
}

// ChartWidth is the chart's width in pixels.
func (c DurationChart) ChartWidth() string { return strconv.Itoa(chartW) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// CriticalText joins a critical path for display.
func (f *ForecastCell) CriticalText() string { return strings.Join(f.CriticalPath, " → ") }

// ForecastStyle places the predicted remainder of a Gantt bar.
func (b ScheduleBar) ForecastStyle() string {
	return "left:" + pct(b.PredLeft) + ";width:" + pct(b.PredWidth)
}

// DeadlineStyle places the deadline marker of a Gantt row.
func (b ScheduleBar) DeadlineStyle() string { return "left:" + pct(b.DeadlineLeft) }

// secs formats seconds as 1h02m03s / 4m05s / 6s.
func secs(s int64) string {
	h, m, x := s/3600, s/60%60, s%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, x)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, x)
	}
	return fmt.Sprintf("%ds", x)
}

func riskOf(f *ForecastCell) string {
	if f == nil {
		return ""
	}
	return f.Risk
}
