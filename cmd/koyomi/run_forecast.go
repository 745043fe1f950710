package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// forecastArgs checks the arguments of `run forecast`.
func forecastArgs(pos []string, output string) error {
	if len(pos) != 0 {
		return fmt.Errorf("run forecast takes no arguments (use --date D): %w", errUsage)
	}
	if output != "" && output != "text" && output != "json" {
		return fmt.Errorf("run forecast: -o %q: want text or json: %w", output, errUsage)
	}
	return nil
}

func forecastDate(day *calendar.Date) calendar.Date {
	if day != nil {
		return *day
	}
	return calendar.DateOf(time.Now())
}

// runForecast forecasts a business date from the database.
func runForecast(ctx context.Context, w io.Writer, s *store.Store, day *calendar.Date, output string, loc *time.Location) error {
	svc, err := deadline.New(deadline.Params{Store: s})
	if err != nil {
		return err
	}
	r, err := svc.Day(ctx, forecastDate(day))
	if err != nil {
		return err
	}
	return printForecast(w, r, output, loc)
}

func forecastViaServer(ctx context.Context, w io.Writer, c *apiClient, day *calendar.Date, output string, loc *time.Location) error {
	var r deadline.Report
	if err := c.do(ctx, "GET", "/api/v1/forecast?date="+url.QueryEscape(forecastDate(day).String()), nil, "", &r); err != nil {
		return err
	}
	return printForecast(w, r, output, loc)
}

// printForecast writes one line per generation (times on the CLI's clock,
// cliZone, with the zone), or the report as JSON.
func printForecast(w io.Writer, r deadline.Report, output string, loc *time.Location) error {
	if output == "json" {
		if r.Generations == nil {
			r.Generations = []deadline.Generation{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if len(r.Generations) == 0 {
		fmt.Fprintf(w, "no generations on business date %s\n", r.Date)
		return nil
	}
	f := func(t time.Time) string { return calendar.Stamp(t, loc, "01-02 15:04") }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN-ID\tJOBNET\tSTATE\tSCHEDULED\tEND\tDEADLINE\tSLACK\tRISK\tCRITICAL PATH")
	for _, g := range r.Generations {
		end := f(g.End)
		if !g.Ended {
			end = "~" + end
		}
		dl, slack, risk := "-", "-", "-"
		if g.Deadline != nil {
			dl = f(*g.Deadline) + " (" + g.DeadlineText + ")"
			slack = (time.Duration(*g.Slack) * time.Second).String()
			risk = string(g.Risk)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.Jobnet, g.State, f(g.ScheduledAt), end, dl, slack, risk,
			strings.Join(g.CriticalPath, " → "))
	}
	return tw.Flush()
}
