package pages

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/a-h/templ"
)

// OpsCount is one state badge of a counts row.
type OpsCount struct {
	State string
	N     int
	// Href filters the list by this state.
	Href string
}

// OpsUnitNote is a problem unit of a generation that needs attention.
type OpsUnitNote struct {
	Path   string
	State  string
	Held   bool
	Delay  bool
	Reason string
}

// OpsGenRow is one generation in a list.
type OpsGenRow struct {
	ID     string
	Jobnet string
	// Title is the jobnet's display name ("" for none).
	Title        string
	Folder       string
	Rule         string
	State        string
	Held         bool
	StartDelayed bool
	EndDelayed   bool
	Scheduled    string
	Started      string
	Ended        string
	Duration     string
	Reason       string
	Units        []OpsUnitNote
	// Actions the row offers (operators only).
	CanHold, CanRelease, CanKill, CanRerun bool
	// Forecast is the predicted end against the deadline (nil: none).
	Forecast *ForecastCell
}

// TodayView is the Today page's view-model.
type TodayView struct {
	Date      string
	Current   string
	Prev      string
	Next      string
	Calendar  string
	Calendars []string
	Zone      string
	// Filters as typed.
	Folder string
	State  string
	Text   string
	// Folders and States are the filter choices.
	Folders []string
	States  []string
	Counts  []OpsCount
	Total   int
	// Attention lists the generations needing an operator.
	Attention []OpsGenRow
	Rows      []OpsGenRow
	Matched   int
	// Offset of the page; PrevOffset/NextOffset are -1 when there is none.
	Offset     int
	PrevOffset int
	NextOffset int
	// Query is the current filter as a query string (for the live fragment).
	Query string
	// Jobnets are the choices of the run-now form.
	Jobnets []string
	RunNow  RunNowForm
	// Updated is the time of the read, on the calendar's clock.
	Updated string
}

// RunNowForm is the run-now form with what was typed and its errors.
type RunNowForm struct {
	Jobnet string
	Date   string
	Params string
	Errors map[string]string
	Error  string
}

// TodayHref is the Today URL of this view with some parameters replaced.
func (v TodayView) TodayHref(kv ...string) templ.SafeURL {
	q := url.Values{}
	set := func(k, val string) {
		if val != "" {
			q.Set(k, val)
		}
	}
	set("date", v.Date)
	set("calendar", v.Calendar)
	set("folder", v.Folder)
	set("state", v.State)
	set("q", v.Text)
	for i := 0; i+1 < len(kv); i += 2 {
		q.Del(kv[i])
		set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return "/"
	}
	return templ.SafeURL("/?" + q.Encode())
}

// RunHref links a generation page.
func RunHref(id string) templ.SafeURL { return templ.SafeURL("/runs/" + url.PathEscape(id)) }

// RunActionHref is the URL of an action on a generation (unit "" ) or unit.
func RunActionHref(id, unit, action string) string {
	if unit == "" {
		return "/runs/" + url.PathEscape(id) + "/" + action
	}
	return "/runs/" + url.PathEscape(id) + "/units/" + action + "?unit=" + url.QueryEscape(unit)
}

// UnitRow is one unit of a generation.
type UnitRow struct {
	Path string
	// Title is the unit's display name ("" for none).
	Title                                           string
	Depth                                           int
	Name                                            string
	Kind                                            string
	State                                           string
	Held                                            bool
	StartDelayed                                    bool
	EndDelayed                                      bool
	KillRequested                                   bool
	Attempts                                        int
	Started                                         string
	Ended                                           string
	Duration                                        string
	Exit                                            string
	Executor                                        string
	HandleID                                        string
	HandleURL                                       string
	Reason                                          string
	CanHold, CanRelease, CanKill, CanRerun, CanMark bool
}

// KV is a name and a value.
type KV struct{ K, V string }

// AuditRow is one audit entry.
type AuditRow struct {
	At, Actor, Action, Target, Detail string
}

// GraphNode is one unit box of the generation graph.
type GraphNode struct {
	X, Y, W, H int
	Path       string
	// Label is the unit's title (else its name), shortened to fit; Tip
	// names the unit in full.
	Label    string
	Tip      string
	Kind     string
	State    string
	Held     bool
	Delayed  bool
	Selected bool
	// Critical: on the forecast's critical path.
	Critical bool
}

// GraphEdge is one arrow of the generation graph.
type GraphEdge struct {
	X1, Y1, X2, Y2 int
	Kind           string
}

// GraphView is one net of the generation (the root net, or a nested jobnet).
type GraphView struct {
	Title  string
	Width  int
	Height int
	Nodes  []GraphNode
	Edges  []GraphEdge
}

// EdgePath is the SVG path of an edge: a smooth curve left to right.
func (e GraphEdge) EdgePath() string {
	mid := (e.X1 + e.X2) / 2
	return fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", e.X1, e.Y1, mid, e.Y1, mid, e.Y2, e.X2, e.Y2)
}

// ViewBox is the SVG viewBox of the graph.
func (g GraphView) ViewBox() string { return fmt.Sprintf("0 0 %d %d", g.Width, g.Height) }

// LogAttempt is one attempt of a unit in the log viewer's selector.
type LogAttempt struct {
	N        int
	State    string
	Exit     string
	Started  string
	Selected bool
	Current  bool
}

// LogView is the log viewer of one unit.
type LogView struct {
	Unit   string
	Text   string
	Cursor string
	// Attempt is the attempt shown; Attempts are the unit's attempts
	// (the selector appears when there are several).
	Attempt  int
	Attempts []LogAttempt
	// Skipped counts the bytes before Text that the viewer leaves out (a
	// large log shows its end); the download has them.
	Skipped int64
	// Live: the unit is still running; the viewer tails the log.
	Live  bool
	Error string
	// Empty: the unit has not started or wrote nothing.
	Empty bool
}

// RunView is the generation page's view-model.
type RunView struct {
	ID     string
	Jobnet string
	// Title is the jobnet's display name ("" for none).
	Title         string
	Folder        string
	Name          string
	Version       int
	State         string
	Held          bool
	StartDelayed  bool
	EndDelayed    bool
	BusinessDate  string
	Rule          string
	StartClock    string
	Scheduled     string
	Started       string
	Ended         string
	Duration      string
	Explanation   string
	Reason        string
	Zone          string
	Params        []KV
	Vars          []KV
	Units         []UnitRow
	Graphs        []GraphView
	Audit         []AuditRow
	Log           LogView
	Live          bool
	CanOperate    bool
	CanHold       bool
	CanRelease    bool
	CanKill       bool
	CanCancel     bool
	CanRetime     bool
	CanRerun      bool
	RetimeValue   string
	Updated       string
	SelectedUnit  string
	RerunModes    []string
	UnitRerunMods []string
	Forecast      *ForecastCell
}

// UnitHref selects a unit on the generation page (its log).
func (v RunView) UnitHref(path string) templ.SafeURL {
	return templ.SafeURL("/runs/" + url.PathEscape(v.ID) + "?unit=" + url.QueryEscape(path) + "#log")
}

// AttemptHref shows the log of one attempt of a unit on the generation page.
func (v RunView) AttemptHref(path string, n int) templ.SafeURL {
	return templ.SafeURL("/runs/" + url.PathEscape(v.ID) + "?unit=" + url.QueryEscape(path) + "&attempt=" + strconv.Itoa(n) + "#log")
}

// LogHref is the log fragment URL of an attempt of a unit from a cursor.
func LogHref(id, unit string, attempt int, cursor string) string {
	return "/runs/" + url.PathEscape(id) + "/log?unit=" + url.QueryEscape(unit) + "&attempt=" + strconv.Itoa(attempt) + "&cursor=" + url.QueryEscape(cursor)
}

// LogDownloadHref downloads the whole log of an attempt of a unit.
func LogDownloadHref(id, unit string, attempt int) templ.SafeURL {
	return templ.SafeURL("/runs/" + url.PathEscape(id) + "/log.txt?unit=" + url.QueryEscape(unit) + "&attempt=" + strconv.Itoa(attempt))
}

// Bytes formats a byte count: 512 B, 3.4 KiB, 12.0 MiB.
func Bytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
}

// ScheduleBar is one line of the day Gantt chart; positions are percents of
// the business day.
type ScheduleBar struct {
	Jobnet string
	// Title is the jobnet's display name ("" for none).
	Title       string
	ID          string
	Rule        string
	State       string
	Planned     bool
	Scheduled   string
	Started     string
	Ended       string
	PlanLeft    float64
	ActLeft     float64
	ActWidth    float64
	HasActual   bool
	Delayed     bool
	Explanation string
	// Forecast: the predicted remainder (PredLeft/PredWidth) and the
	// deadline marker, when there is one.
	Forecast     *ForecastCell
	HasPred      bool
	PredLeft     float64
	PredWidth    float64
	HasDeadline  bool
	DeadlineLeft float64
}

// PlanStyle places the planned marker.
func (b ScheduleBar) PlanStyle() string { return "left:" + pct(b.PlanLeft) }

// ActStyle places the actual bar.
func (b ScheduleBar) ActStyle() string {
	return "left:" + pct(b.ActLeft) + ";width:" + pct(b.ActWidth)
}

func pct(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" }

// HourTick is one hour label of the Gantt axis.
type HourTick struct {
	Label string
	Left  float64
}

// TickStyle places an hour tick.
func (t HourTick) TickStyle() string { return "left:" + pct(t.Left) }

// GanttLabelWidth is the width in CSS pixels of the Gantt's label column.
const GanttLabelWidth = 260

// GanttHourWidth is the width in CSS pixels of one hour of the Gantt's
// time axis: a business day is wider than a laptop screen, and the chart
// scrolls sideways to "now".
const GanttHourWidth = 72

// ScheduleGroup is one jobnet of the day Gantt: its generations, with
// counts of those running, failed and still to start.
type ScheduleGroup struct {
	Jobnet string
	// Title is the jobnet's display name ("" for none).
	Title   string
	Running int
	Failed  int
	Pending int
	Done    int
	// Next is the scheduled start of its next pending generation ("" none).
	Next string
	// Open: shown unfolded (it needs attention, or is short).
	Open bool
	Bars []ScheduleBar
}

// ScheduleDayView is the daily schedule page's view-model.
type ScheduleDayView struct {
	Date      string
	Prev      string
	Next      string
	Current   string
	Month     string
	Calendar  string
	Calendars []string
	Zone      string
	Ticks     []HourTick
	// Bars are every line of the day by scheduled start.
	Bars []ScheduleBar
	// Focus lists what is running, what failed and what starts next
	// (FocusMore more were left out); Groups are the jobnets.
	Focus     []ScheduleBar
	FocusMore int
	Groups    []ScheduleGroup
	// TrackWidth is the time axis's width in CSS pixels.
	TrackWidth int
	NowLeft    float64
	ShowNow    bool
	// NowLabel is "now" on the calendar's clock, with the zone.
	NowLabel  string
	Truncated bool
	// Limit is how many lines a day shows at most.
	Limit int
}

// NowStyle places the "now" line across the chart, in pixels from the
// chart's left edge.
func (v ScheduleDayView) NowStyle() string {
	return "left:" + strconv.FormatFloat(float64(GanttLabelWidth)+v.NowLeft/100*float64(v.TrackWidth), 'f', 1, 64) + "px"
}

// NowX is the "now" line's distance in CSS pixels from the chart's left edge
// (where the chart scrolls to), or the first focused bar's when the day
// is not today.
func (v ScheduleDayView) NowX() string {
	left := 0.0
	switch {
	case v.ShowNow:
		left = v.NowLeft
	case len(v.Focus) > 0:
		left = v.Focus[0].PlanLeft
	case len(v.Bars) > 0:
		left = v.Bars[0].PlanLeft
	}
	return strconv.Itoa(GanttLabelWidth + int(left/100*float64(v.TrackWidth)))
}

// ChartStyle sizes the chart: label column plus time axis.
func (v ScheduleDayView) ChartStyle() string {
	return "width:" + strconv.Itoa(GanttLabelWidth+v.TrackWidth) + "px;--gantt-label:" + strconv.Itoa(GanttLabelWidth) + "px;--gantt-hour:" + strconv.Itoa(GanttHourWidth) + "px"
}

// MonthCell is one day of the month grid ("" Date = padding).
type MonthCell struct {
	Date     string
	Day      int
	Open     bool
	Today    bool
	Planned  int
	FromPlan bool
	Done     int
	Failed   int
	Running  int
}

// ScheduleMonthView is the monthly schedule page's view-model.
type ScheduleMonthView struct {
	Month     string // YYYY-MM
	Title     string
	Prev      string
	Next      string
	Calendar  string
	Calendars []string
	Weeks     [][]MonthCell
}

// ScheduleHref links a schedule view.
func ScheduleHref(view, date, cal string) templ.SafeURL {
	q := url.Values{}
	q.Set("view", view)
	if date != "" {
		q.Set("date", date)
	}
	if cal != "" {
		q.Set("calendar", cal)
	}
	return templ.SafeURL("/schedule?" + q.Encode())
}
