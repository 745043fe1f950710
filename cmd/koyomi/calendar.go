package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// catalogFlags select where definitions come from: YAML files or the database.
type catalogFlags struct {
	file *string
	db   dbFlags
}

func addCatalogFlags(fs *flag.FlagSet) catalogFlags {
	return catalogFlags{file: fs.String("f", "", "read definitions from this YAML file or directory instead of the database"), db: addDBFlags(fs)}
}

func (c catalogFlags) load(ctx context.Context, e env) (*plan.Catalog, error) {
	if *c.file != "" {
		b, err := jobnet.LoadPath(*c.file)
		if err != nil {
			return nil, err
		}
		if ps := jobnet.Validate(b, jobnet.Known{}); len(ps) > 0 {
			return nil, ps
		}
		return plan.CatalogFromBundle(b), nil
	}
	s, err := c.db.open(ctx, e)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return ops.New(ops.Params{Store: s}).Catalog(ctx)
}

func parseRange(from, to string, defFrom, defTo calendar.Date) (calendar.Date, calendar.Date, error) {
	f, t := defFrom, defTo
	var err error
	if from != "" {
		if f, err = calendar.ParseDate(from); err != nil {
			return 0, 0, fmt.Errorf("--from: %v: %w", err, errUsage)
		}
	}
	if to != "" {
		if t, err = calendar.ParseDate(to); err != nil {
			return 0, 0, fmt.Errorf("--to: %v: %w", err, errUsage)
		}
	}
	if t < f {
		return 0, 0, fmt.Errorf("--to %s is before --from %s: %w", t, f, errUsage)
	}
	if t-f > 366*100 {
		return 0, 0, fmt.Errorf("the range %s..%s is longer than 100 years: %w", f, t, errUsage)
	}
	return f, t, nil
}

func thisYear() (calendar.Date, calendar.Date) {
	y := time.Now().Year()
	return calendar.NewDate(y, time.January, 1), calendar.NewDate(y, time.December, 31)
}

const calendarSynopsis = `calendar show|export NAME [--from D] [--to D] [flags]
       koyomi calendar import FILE --into NAME [--dry-run] [--skip-bad]
       koyomi calendar sets`

func cmdCalendar(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		_, err := parseArgs(e, newFlagSet(e, "calendar", calendarSynopsis), args, "show|export|import|sets")
		return err
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(e, "calendar "+sub, calendarSynopsis)
	switch sub {
	case "sets":
		if _, err := parseArgs(e, fs, args); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDESCRIPTION\tSOURCE")
		for _, s := range calendar.BuiltinSetInfos() {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Description, s.Source)
		}
		return tw.Flush()
	case "show":
		sel := addCalendarFlags(fs)
		out := fs.String("o", "text", "output: text or json")
		closedOnly := fs.Bool("closed", false, "list closed days only")
		cal, f, t, err := sel.resolve(ctx, e, fs, "show", args)
		if err != nil {
			return err
		}
		return showCalendar(e.stdout, cal, f, t, *out, *closedOnly)
	case "export":
		sel := addCalendarFlags(fs)
		format := fs.String("format", "ics", "ics or csv")
		cal, f, t, err := sel.resolve(ctx, e, fs, "export", args)
		if err != nil {
			return err
		}
		switch *format {
		case "ics":
			_, err = e.stdout.Write(cal.ExportICS(f, t, time.Now().UTC()))
		case "csv":
			_, err = e.stdout.Write(cal.ExportCSV(f, t))
		default:
			return fmt.Errorf("--format %q: want ics or csv: %w", *format, errUsage)
		}
		return err
	case "import":
		db := addDBFlags(fs)
		into := fs.String("into", "", "the calendar to add the closed days to")
		dry := fs.Bool("dry-run", false, "show what would change; write nothing")
		skip := fs.Bool("skip-bad", false, "import the good rows of a file with bad rows")
		format := fs.String("format", "", "csv or ics (default: from the file name)")
		from := fs.String("from", "", "first date to import (default: all of a CSV; for .ics the first event)")
		to := fs.String("to", "", "last date to import (default: all of a CSV; for .ics ten years ahead)")
		nameCol := fs.String("name-column", "", "CSV column with the names: header name or number (default: detected)")
		pos, err := parseArgs(e, fs, args, "FILE")
		if err != nil {
			return err
		}
		file := pos[0]
		if *into == "" {
			return fmt.Errorf("calendar import needs FILE and --into NAME: %w", errUsage)
		}
		rf, rt, err := importRange(*from, *to)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		s, err := db.open(ctx, e)
		if err != nil {
			return err
		}
		defer s.Close()
		p, err := ops.New(ops.Params{Store: s}).ImportCalendar(ctx, cliActor(e), ops.ImportRequest{
			Calendar: *into, FileName: file, Data: data, Format: ops.ImportFormat(*format), SkipBad: *skip, DryRun: *dry,
			From: rf, To: rt, NameColumn: *nameCol})
		if err != nil {
			return err
		}
		printPreview(e.stdout, p)
		return nil
	}
	return fmt.Errorf("calendar %q: want show, import, export or sets: %w", sub, errUsage)
}

// calendarFlags select a calendar and a date range for show and export.
type calendarFlags struct {
	catalog  catalogFlags
	from, to *string
}

func addCalendarFlags(fs *flag.FlagSet) calendarFlags {
	return calendarFlags{
		catalog: addCatalogFlags(fs),
		from:    fs.String("from", "", "first date (default: January 1 of this year)"),
		to:      fs.String("to", "", "last date (default: December 31 of this year)"),
	}
}

// resolve parses NAME [flags] and builds the named calendar.
func (c calendarFlags) resolve(ctx context.Context, e env, fs *flag.FlagSet, sub string, args []string) (*calendar.Calendar, calendar.Date, calendar.Date, error) {
	pos, err := parseArgs(e, fs, args, "NAME")
	if err != nil {
		return nil, 0, 0, err
	}
	name := pos[0]
	df, dt := thisYear()
	f, t, err := parseRange(*c.from, *c.to, df, dt)
	if err != nil {
		return nil, 0, 0, err
	}
	cat, err := c.catalog.load(ctx, e)
	if err != nil {
		return nil, 0, 0, err
	}
	cal, err := cat.Calendar(name)
	return cal, f, t, err
}

type dayJSON struct {
	Date    string `json:"date"`
	Weekday string `json:"weekday"`
	Open    bool   `json:"open"`
	Reason  string `json:"reason"`
}

func showCalendar(w io.Writer, cal *calendar.Calendar, from, to calendar.Date, format string, closedOnly bool) error {
	var days []dayJSON
	for d := from; d <= to; d++ {
		st := cal.Status(d)
		if closedOnly && st.Open {
			continue
		}
		days = append(days, dayJSON{Date: d.String(), Weekday: d.Weekday().String()[:3], Open: st.Open, Reason: st.Reason})
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if days == nil {
			days = []dayJSON{}
		}
		return enc.Encode(days)
	case "text":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range days {
			state := "open"
			if !d.Open {
				state = "closed"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Date, d.Weekday, state, d.Reason)
		}
		return tw.Flush()
	}
	return fmt.Errorf("-o %q: want text or json: %w", format, errUsage)
}

func printPreview(w io.Writer, p ops.ImportPreview) {
	fmt.Fprintf(w, "%d closed day(s) read for calendar %s", p.Imported, p.Calendar)
	if p.Imported > 0 {
		fmt.Fprintf(w, " (%s .. %s)", p.From, p.To)
	}
	fmt.Fprintln(w)
	if r := importRangeText(p); r != "" {
		fmt.Fprintln(w, r)
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "skipped %s\n", s)
	}
	for _, c := range p.Conflicts {
		fmt.Fprintf(w, "kept existing override: %+v\n", c)
	}
	fmt.Fprintf(w, "\n%d day(s) change:\n", len(p.Days))
	for _, d := range p.Days {
		fmt.Fprintf(w, "  %s  %s → %s\n", d.Date, d.WasReason, d.NowReason)
	}
	fmt.Fprintf(w, "\n%d planned run(s) move:\n", len(p.Moves))
	for _, m := range p.Moves {
		switch {
		case m.Before.Jobnet == "":
			fmt.Fprintf(w, "  %-8s %s %s %s\n", m.Kind, m.After.Jobnet, m.After.BusinessDate, m.After.StartClock)
		case m.After.Jobnet == "":
			fmt.Fprintf(w, "  %-8s %s %s %s\n", m.Kind, m.Before.Jobnet, m.Before.BusinessDate, m.Before.StartClock)
		default:
			fmt.Fprintf(w, "  %-8s %s %s %s → %s %s\n", m.Kind, m.Before.Jobnet, m.Before.BusinessDate, m.Before.StartClock, m.After.BusinessDate, m.After.StartClock)
		}
	}
	switch {
	case p.Applied:
		fmt.Fprintf(w, "\nimported: calendar %s is now version %d\n", p.Calendar, p.Version)
	default:
		fmt.Fprintln(w, "\ndry run: nothing written")
	}
}

// importRange parses the optional --from and --to of an import.
func importRange(from, to string) (f, t calendar.Date, err error) {
	if from != "" {
		if f, err = calendar.ParseDate(from); err != nil {
			return 0, 0, fmt.Errorf("--from: %v: %w", err, errUsage)
		}
	}
	if to != "" {
		if t, err = calendar.ParseDate(to); err != nil {
			return 0, 0, fmt.Errorf("--to: %v: %w", err, errUsage)
		}
	}
	if f != 0 && t != 0 && t < f {
		return 0, 0, fmt.Errorf("--to %s is before --from %s: %w", t, f, errUsage)
	}
	return f, t, nil
}

// importRangeText says over which dates the file was read, and how to
// choose them when the range was the default.
func importRangeText(p ops.ImportPreview) string {
	if p.RangeFrom == 0 || p.RangeTo == 0 {
		return ""
	}
	text := fmt.Sprintf("read over %s .. %s", p.RangeFrom, p.RangeTo)
	if p.DefaultRange {
		text += fmt.Sprintf(" (default: first event to %d years ahead; choose with --from/--to)", calendar.ICSExpandYearsDefault)
	}
	return text
}
