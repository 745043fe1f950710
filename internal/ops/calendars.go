package ops

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Catalog returns the current definitions of the database as a plan.Catalog.
func (s *Service) Catalog(ctx context.Context) (*plan.Catalog, error) {
	d, err := s.store.Snapshot(ctx, "")
	if err != nil {
		return nil, err
	}
	return plan.NewCatalog(d.Calendars, d.Folders, d.Jobnets), nil
}

// ImportFormat is the format of a calendar import file.
type ImportFormat string

const (
	// ImportCSV is date,name CSV (UTF-8 or Shift_JIS, the Cabinet Office file as is).
	ImportCSV ImportFormat = "csv"
	// ImportICS is an iCalendar file of all-day events.
	ImportICS ImportFormat = "ics"
)

// DetectImportFormat picks the format from the file name, then the content.
func DetectImportFormat(name string, data []byte) ImportFormat {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ics", ".ical", ".icalendar":
		return ImportICS
	case ".csv", ".txt":
		return ImportCSV
	}
	if strings.Contains(string(data[:min(len(data), 512)]), "BEGIN:VCALENDAR") {
		return ImportICS
	}
	return ImportCSV
}

// ImportRequest is a calendar import.
type ImportRequest struct {
	Calendar string
	FileName string
	Data     []byte
	Format   ImportFormat // "" = detect
	SkipBad  bool
	DryRun   bool
	// From and To bound the imported days and the expansion of recurring
	// .ics events (inclusive; zero = the default, see calendar.ImportICS).
	From, To calendar.Date
	// NameColumn chooses the CSV column with the names (header name or
	// 1-based number; empty = detect).
	NameColumn string
	// Today anchors the default .ics range (zero = the service's clock).
	Today calendar.Date
}

// ImportPreview is what an import changes: the days and the planned runs.
type ImportPreview struct {
	Calendar  string
	Imported  int
	Skipped   fault.Problems
	Conflicts []calendar.ImportConflict
	Days      []calendar.DayChange
	// Moves are the planned runs of the jobnets on this calendar (or a child
	// of it) that the import adds, removes or moves.
	Moves []plan.Move
	// From and To are the first and last imported day.
	From calendar.Date
	To   calendar.Date
	// RangeFrom and RangeTo are the range the file was read over (zero:
	// unbounded); DefaultRange says it was not chosen by the request.
	RangeFrom, RangeTo calendar.Date
	DefaultRange       bool
	Applied            bool
	Version            int
}

// ImportCalendar reads closed days from a file into a calendar as overrides.
// With DryRun it only previews. A file with bad rows imports nothing unless
// SkipBad is set.
func (s *Service) ImportCalendar(ctx context.Context, a Actor, req ImportRequest) (ImportPreview, error) {
	if !req.DryRun && a.Role != store.RoleAdmin && a.Role != store.RoleDesigner {
		return ImportPreview{}, fmt.Errorf("import calendar: %w", fault.ErrForbidden)
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return ImportPreview{}, err
	}
	if req.Today == 0 {
		req.Today = calendar.DateOf(s.now())
	}
	prev, err := PreviewImport(cat, req)
	if err != nil || req.DryRun {
		return prev, err
	}
	def := cat.CalendarDefs()[req.Calendar]
	cal, err := cat.Calendar(req.Calendar)
	if err != nil {
		return prev, err
	}
	days, err := readImport(req, cal.Location())
	if err != nil {
		return prev, err
	}
	next, _ := calendar.ApplyImport(def, days.Days)
	res, err := s.store.ApplyDefinitions(ctx, store.Definitions{Calendars: []calendar.Definition{jobnet.NormalizedCalendar(next)}}, a.Username)
	if err != nil {
		return prev, err
	}
	prev.Applied, prev.Version = true, res[0].Version
	err = s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "calendar.import", Target: "calendar/" + req.Calendar,
		Detail: fmt.Sprintf("%s: %d day(s) imported, %d day(s) changed, %d planned run(s) moved", req.FileName, prev.Imported, len(prev.Days), len(prev.Moves))})
	return prev, err
}

func readImport(req ImportRequest, loc *time.Location) (calendar.ImportResult, error) {
	opt := calendar.ImportOptions{SkipBad: req.SkipBad, From: req.From, To: req.To, Today: req.Today,
		Location: loc, NameColumn: req.NameColumn}
	format := req.Format
	if format == "" {
		format = DetectImportFormat(req.FileName, req.Data)
	}
	switch format {
	case ImportICS:
		return calendar.ImportICS(req.FileName, req.Data, opt)
	case ImportCSV:
		return calendar.ImportCSV(req.FileName, req.Data, opt)
	}
	return calendar.ImportResult{}, fmt.Errorf("import format %q: want csv or ics: %w", format, fault.ErrInvalid)
}

// PreviewImport computes an import's effect on a catalog without writing.
func PreviewImport(cat *plan.Catalog, req ImportRequest) (ImportPreview, error) {
	p := ImportPreview{Calendar: req.Calendar}
	def, ok := cat.CalendarDefs()[req.Calendar]
	if !ok {
		return p, fmt.Errorf("calendar %q: %w", req.Calendar, fault.ErrNotFound)
	}
	before, err := cat.Calendar(req.Calendar)
	if err != nil {
		return p, err
	}
	res, err := readImport(req, before.Location())
	if err != nil {
		return p, err
	}
	p.Imported, p.Skipped = len(res.Days), res.Skipped
	p.RangeFrom, p.RangeTo, p.DefaultRange = res.From, res.To, res.DefaultRange
	if len(res.Days) == 0 {
		return p, nil
	}
	next, conflicts := calendar.ApplyImport(def, res.Days)
	p.Conflicts = conflicts
	p.From, p.To = res.Days[0].Date, res.Days[len(res.Days)-1].Date
	after := cat.WithCalendar(next)
	afterCal, err := after.Calendar(req.Calendar)
	if err != nil {
		return p, err
	}
	p.Days = calendar.Diff(before, afterCal, p.From, p.To)
	// Runs can move by up to a month around the changed days (shifts, offsets, month ends).
	from, to := p.From.AddDays(-31), p.To.AddDays(31)
	if int(to-from) >= plan.MaxRangeDays {
		// Runs are compared over the most recent span a planner covers.
		from = to - calendar.Date(plan.MaxRangeDays-1)
	}
	uses := func(j *jobnet.Jobnet) bool { return cat.UsesCalendar(j, req.Calendar) }
	b, err := cat.Plan(from, to, uses)
	if err != nil {
		return p, err
	}
	a, err := after.Plan(from, to, uses)
	if err != nil {
		return p, err
	}
	p.Moves = plan.Moved(plan.Flatten(b), plan.Flatten(a))
	return p, nil
}

// StageCalendarUpload keeps an uploaded calendar file for its preview and
// confirmation (designers and admins; the file is checked by the preview)
// and returns its id.
func (s *Service) StageCalendarUpload(ctx context.Context, a Actor, calendarName, fileName string, data []byte) (string, error) {
	if !canDesign(a) {
		return "", fmt.Errorf("upload a calendar file: %w", fault.ErrForbidden)
	}
	return s.store.SaveCalendarUpload(ctx, store.CalendarUpload{Calendar: calendarName, FileName: fileName, Content: data, CreatedBy: a.Username})
}

// CalendarUpload returns a file the actor staged for the calendar.
func (s *Service) CalendarUpload(ctx context.Context, a Actor, id, calendarName string) (store.CalendarUpload, error) {
	if !canDesign(a) {
		return store.CalendarUpload{}, fmt.Errorf("read a calendar upload: %w", fault.ErrForbidden)
	}
	return s.store.CalendarUploadByID(ctx, id, calendarName, a.Username)
}

// DropCalendarUpload removes a staged file once imported.
func (s *Service) DropCalendarUpload(ctx context.Context, a Actor, id string) error {
	if !canDesign(a) {
		return fmt.Errorf("remove a calendar upload: %w", fault.ErrForbidden)
	}
	return s.store.DeleteCalendarUpload(ctx, id)
}
