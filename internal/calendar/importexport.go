package calendar

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// ImportedDay is one closed day read from an imported file.
type ImportedDay struct {
	Date Date
	// Name is the holiday name or event summary; it becomes the override note.
	Name string
	// Line is the line of the file the day came from (the VEVENT's BEGIN line
	// for .ics), for messages.
	Line int
}

// ImportOptions tunes the importers.
type ImportOptions struct {
	// SkipBad imports the good rows and reports the bad ones in
	// ImportResult.Skipped instead of failing the whole file.
	SkipBad bool
	// From and To bound the days returned (inclusive) and the expansion of
	// recurring .ics events. Zero means the default: no bound for CSV; for
	// .ics the first event and ICSExpandYearsDefault years after Today.
	From, To Date
	// Today anchors the default end of the .ics range.
	Today Date
	// Location is the time zone of the calendar imported into: .ics times
	// without a zone are read in it, and events from midnight to midnight in
	// it are whole days. Nil means UTC.
	Location *time.Location
	// NameColumn chooses the CSV column holding the name: a header name
	// (case-insensitive) or a 1-based column number. Empty: the column
	// called name (or summary, holiday, 名称, 名前), else the first column
	// after the date.
	NameColumn string
}

// ImportResult is what an importer read.
type ImportResult struct {
	// Days are the closed days in date order; a date occurs once. Rows or
	// events naming the same date merge: their distinct names are joined
	// with NameSeparator and the first line is kept.
	Days []ImportedDay
	// Skipped lists the bad rows or events left out under SkipBad.
	Skipped fault.Problems
	// From and To are the range applied (zero: unbounded); DefaultRange
	// says it was not chosen by the caller.
	From, To     Date
	DefaultRange bool
}

// NameSeparator joins the names of imported rows or events on one date.
const NameSeparator = " / "

// finish applies the range, sorts, merges duplicate dates, and turns
// problems into the error unless SkipBad is set.
func finish(file string, days []ImportedDay, probs fault.Problems, opt ImportOptions) (ImportResult, error) {
	if len(probs) > 0 && !opt.SkipBad {
		return ImportResult{}, fmt.Errorf("import %s: %w", file, probs)
	}
	out := days[:0:0]
	for _, d := range days {
		if (opt.From != 0 && d.Date < opt.From) || (opt.To != 0 && d.Date > opt.To) {
			continue
		}
		d.Name = strings.TrimSpace(d.Name)
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b ImportedDay) int { return int(a.Date - b.Date) })
	merged := out[:0]
	for _, d := range out {
		if n := len(merged); n > 0 && merged[n-1].Date == d.Date {
			last := &merged[n-1]
			if d.Name != "" && !slices.Contains(strings.Split(last.Name, NameSeparator), d.Name) {
				if last.Name == "" {
					last.Name = d.Name
				} else {
					last.Name += NameSeparator + d.Name
				}
			}
			continue
		}
		merged = append(merged, d)
	}
	return ImportResult{Days: merged, Skipped: probs, From: opt.From, To: opt.To}, nil
}

// DayChange is one date whose status differs between two calendars.
type DayChange struct {
	Date       Date
	WasOpen    bool
	NowOpen    bool
	WasReason  string
	NowReason  string
	ReasonOnly bool // open/closed is unchanged, only the reason differs
}

// Diff lists the dates from..to (inclusive) whose status or reason differs
// between before and after, for an import or edit preview.
func Diff(before, after *Calendar, from, to Date) []DayChange {
	var out []DayChange
	for d := from; d <= to; d++ {
		b, a := before.Status(d), after.Status(d)
		if b.Open == a.Open && b.Reason == a.Reason {
			continue
		}
		out = append(out, DayChange{Date: d, WasOpen: b.Open, NowOpen: a.Open,
			WasReason: b.Reason, NowReason: a.Reason, ReasonOnly: b.Open == a.Open})
	}
	return out
}

// ImportConflict is an imported day that an existing override of the
// definition already decides; the existing override is kept.
type ImportConflict struct {
	Day      ImportedDay
	Existing OverrideDef
}

func (c ImportConflict) String() string {
	state := "closed"
	if c.Existing.Open {
		state = "open"
	}
	return fmt.Sprintf("%s (line %d, %q): kept the existing %s override %q", c.Day.Date, c.Day.Line, c.Day.Name, state, c.Existing.Note)
}

// ApplyImport returns def with a closed override for every imported day,
// noted with the day's name. Existing overrides are kept: an imported day on
// a date that already has an override is not added, and is reported as a
// conflict when it disagrees (the existing override opens the day or carries
// another note). The overrides come back in date order.
func ApplyImport(def Definition, days []ImportedDay) (Definition, []ImportConflict) {
	existing := make(map[Date]OverrideDef, len(def.Overrides))
	for _, o := range def.Overrides {
		existing[o.Date] = o
	}
	out := def
	out.Overrides = append([]OverrideDef(nil), def.Overrides...)
	var conflicts []ImportConflict
	for _, d := range days {
		if o, ok := existing[d.Date]; ok {
			if o.Open || o.Note != d.Name {
				conflicts = append(conflicts, ImportConflict{Day: d, Existing: o})
			}
			continue
		}
		o := OverrideDef{Date: d.Date, Open: false, Note: d.Name}
		existing[d.Date] = o
		out.Overrides = append(out.Overrides, o)
	}
	slices.SortStableFunc(out.Overrides, func(a, b OverrideDef) int { return int(a.Date - b.Date) })
	return out, conflicts
}

// ClosedDays returns the closed days from..to (inclusive) with their reasons.
func (c *Calendar) ClosedDays(from, to Date) []Status {
	var out []Status
	for d := from; d <= to; d++ {
		if s := c.Status(d); !s.Open {
			out = append(out, s)
		}
	}
	return out
}

// ExportCSV writes the closed days from..to as CSV with a header
// `date,reason`, dates as YYYY-MM-DD, UTF-8, CRLF line endings (RFC 4180).
func (c *Calendar) ExportCSV(from, to Date) []byte {
	var b bytes.Buffer
	b.WriteString("date,reason\r\n")
	for _, s := range c.ClosedDays(from, to) {
		b.WriteString(s.Date.String())
		b.WriteByte(',')
		b.WriteString(csvField(ExportName(s)))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ExportName is the name a closed day is exported under: its reason
// without "closed: " and without " (from <parent>)", and an override's note
// without the "override '…'" around it (an override without a note has no
// name). Importing an export therefore gives back the same names, and
// exporting again the same file.
func ExportName(s Status) string {
	r := strings.TrimPrefix(s.Reason, "closed: ")
	for strings.HasSuffix(r, ")") {
		i := strings.LastIndex(r, " (from ")
		if i < 0 {
			break
		}
		r = r[:i]
	}
	switch {
	case r == "override":
		return ""
	case strings.HasPrefix(r, "override '") && strings.HasSuffix(r, "'") && len(r) > len("override '"):
		return r[len("override '") : len(r)-1]
	}
	return r
}
