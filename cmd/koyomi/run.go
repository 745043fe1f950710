package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/web"
)

const runUsage = `run SUBCOMMAND [flags]

  now JOBNET [--date D] [--param K=V ...]      start a generation now (rule "manual")
  status [--date D] [JOBNET|RUN-ID]           list generations, or show one with its units
  rerun RUN-ID [--mode from_abnormal|after_abnormal|from_top|warning_only]
               [--unit PATH --unit-mode alone|with_successors|successors_only]
  hold RUN-ID [--unit PATH]                   hold a generation or a unit
  release RUN-ID [--unit PATH]                release it
  kill RUN-ID [--unit PATH]                   kill a running generation or job
  logs RUN-ID --unit PATH [--attempt N] [--follow]
                                              print a job's log (of attempt N; default the latest)
  cancel RUN-ID [--reason TEXT]               cancel a generation that has not started
  retime RUN-ID --at HH:MM                    change its start time (00:00-47:59 of its business date)
  mark RUN-ID --unit PATH --as bypassed|ended_normal
  forecast [--date D] [-o json]               predicted end of each generation vs its deadline

Every subcommand takes --database-url and --data-dir, or --server URL and --token
(env KOYOMI_SERVER, KOYOMI_TOKEN) to use a server's REST API instead.`

func cmdRun(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "run", runUsage)
	db := addDBFlags(fs)
	srv := addServerFlags(fs)
	date := fs.String("date", "", "business date YYYY-MM-DD")
	var params paramFlag
	fs.Var(&params, "param", "generation parameter K=V (repeatable)")
	unit := fs.String("unit", "", "unit path, e.g. load or sub/extract")
	mode := fs.String("mode", "", "rerun mode of a generation")
	unitMode := fs.String("unit-mode", "", "rerun mode of a unit: alone, with_successors, successors_only")
	follow := fs.Bool("follow", false, "keep printing the log until the job ends")
	attempt := fs.Int("attempt", 0, "logs: the attempt whose log to print (retries and reruns each have their own; 0: the latest)")
	at := fs.String("at", "", "new start time HH:MM")
	as := fs.String("as", "", "bypassed or ended_normal")
	reason := fs.String("reason", "", "why (recorded with the cancellation)")
	output := fs.String("o", "", "forecast output: text (default) or json")
	pos, err := parseArgs(e, fs, args, "SUBCOMMAND", "[JOBNET|RUN-ID]")
	if err != nil {
		return err
	}
	sub, pos := pos[0], pos[1:]
	loc, err := cliZone(e)
	if err != nil {
		return err
	}
	var day *calendar.Date
	if *date != "" {
		d, err := calendar.ParseDate(*date)
		if err != nil {
			return fmt.Errorf("--date: %w: %w", err, errUsage)
		}
		day = &d
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("run %s needs %s: %w", sub, what, errUsage)
		}
		return nil
	}
	known := map[string]bool{"now": true, "status": true, "rerun": true, "hold": true, "release": true, "kill": true, "logs": true, "cancel": true, "retime": true, "mark": true,
		"forecast": true}
	if !known[sub] {
		fs.Usage()
		return fmt.Errorf("unknown run subcommand %q: %w", sub, errUsage)
	}
	if sub == "forecast" {
		if err := forecastArgs(pos, *output); err != nil {
			return err
		}
	} else if sub != "status" {
		if err := need(1, map[bool]string{true: "JOBNET (folder/name)", false: "RUN-ID"}[sub == "now"]); err != nil {
			return err
		}
	} else if len(pos) > 1 {
		return fmt.Errorf("run status takes at most one JOBNET or RUN-ID: %w", errUsage)
	}

	if c, err := srv.client(e); err != nil {
		return err
	} else if c != nil && sub == "forecast" {
		return forecastViaServer(ctx, e.stdout, c, day, *output, loc)
	} else if c != nil {
		return runViaServer(ctx, e, c, sub, pos, runOptions{day: day, params: params.m, unit: *unit, mode: *mode, unitMode: *unitMode,
			at: *at, as: *as, reason: *reason, follow: *follow, attempt: *attempt, loc: loc})
	}
	s, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := ops.New(ops.Params{Store: s})
	actor := cliActor(e)

	switch sub {
	case "forecast":
		return runForecast(ctx, e.stdout, s, day, *output, loc)
	case "now":
		g, err := svc.RunNow(ctx, actor, ops.RunNowRequest{Jobnet: pos[0], BusinessDate: day, Params: params.m})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\t%s %s %s (starts now)\n", g.ID, g.Jobnet, g.BusinessDate, g.StartClock)
		return nil
	case "status":
		if len(pos) == 1 && !strings.Contains(pos[0], "/") {
			return runShow(ctx, e.stdout, svc, pos[0], loc)
		}
		q := store.GenerationQuery{}
		jobnet := ""
		if len(pos) == 1 {
			jobnet = pos[0]
		}
		if day == nil {
			// The business date it is now on the jobnet's calendar (else
			// the main calendar's), not the machine's date.
			today, err := svc.CurrentBusinessDate(ctx, jobnet)
			if err != nil {
				return err
			}
			day = &today
		}
		q.BusinessDate = day
		if len(pos) == 1 {
			q.Jobnet = pos[0]
		}
		gs, err := svc.Generations(ctx, q)
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			fmt.Fprintf(e.stdout, "no generations on business date %s\n", *day)
			return nil
		}
		titles, err := svc.JobnetTitles(ctx)
		if err != nil {
			return err
		}
		list := make([]web.APIGeneration, len(gs))
		for i, g := range gs {
			list[i] = web.NewAPIGeneration(g, nil)
			list[i].Title = titles[g.Jobnet]
		}
		return showGenerations(e.stdout, list, loc)
	case "rerun":
		req := ops.RerunRequest{Mode: jobrun.RerunMode(*mode), Unit: *unit}
		switch {
		case *unit != "":
			if *mode != "" {
				return fmt.Errorf("run rerun: --mode is for a generation; with --unit use --unit-mode: %w", errUsage)
			}
			m, ok := map[string]jobrun.RerunMode{"": jobrun.RerunUnitAlone, "alone": jobrun.RerunUnitAlone,
				"with_successors": jobrun.RerunUnitWithSuccessors, "successors_only": jobrun.RerunSuccessorsOnly}[*unitMode]
			if !ok {
				return fmt.Errorf("run rerun: --unit-mode %q: want alone, with_successors or successors_only: %w", *unitMode, errUsage)
			}
			req.Mode = m
		case *unitMode != "":
			return fmt.Errorf("run rerun: --unit-mode needs --unit: %w", errUsage)
		default:
			switch req.Mode {
			case "", jobrun.RerunFromAbnormal, jobrun.RerunAfterAbnormal, jobrun.RerunFromTop, jobrun.RerunWarningOnly:
			default:
				return fmt.Errorf("run rerun: --mode %q: want from_abnormal, after_abnormal, from_top or warning_only: %w", *mode, errUsage)
			}
		}
		p, err := svc.Rerun(ctx, actor, pos[0], req)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rerun %s: reset %s\n", pos[0], strings.Join(p.Reset, ", "))
		if len(p.MarkEndedNormal) > 0 {
			fmt.Fprintf(e.stdout, "marked ended normally: %s\n", strings.Join(p.MarkEndedNormal, ", "))
		}
		return nil
	case "hold", "release", "kill":
		f := map[string]func(context.Context, ops.Actor, string, string) error{"hold": svc.Hold, "release": svc.Release, "kill": svc.Kill}[sub]
		if err := f(ctx, actor, pos[0], *unit); err != nil {
			return err
		}
		what := "generation " + pos[0]
		if *unit != "" {
			what = fmt.Sprintf("unit %s of generation %s", *unit, pos[0])
		}
		verb := map[string]string{"hold": "held", "release": "released", "kill": "kill requested for"}[sub]
		fmt.Fprintf(e.stdout, "%s %s\n", verb, what)
		return nil
	case "logs":
		if *unit == "" {
			return fmt.Errorf("run logs needs --unit PATH: %w", errUsage)
		}
		dataDir := first(*db.dataDir, e.getenv("KOYOMI_DATA_DIR"), config.DataDirDefault)
		execs, err := buildExecutors(ctx, config.Config{DataDir: dataDir, KillGrace: config.KillGraceDefault}, s, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		svc.SetExecutors(execs)
		return runLogs(ctx, e.stdout, svc, pos[0], *unit, *attempt, *follow)
	case "cancel":
		if err := svc.Cancel(ctx, actor, pos[0], *reason); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "cancelled generation %s (not executed)\n", pos[0])
		return nil
	case "retime":
		if *at == "" {
			return fmt.Errorf("run retime needs --at HH:MM: %w", errUsage)
		}
		c, err := calendar.ParseClockTime(*at)
		if err != nil {
			return fmt.Errorf("--at: %w: %w", err, errUsage)
		}
		t, err := svc.Retime(ctx, actor, pos[0], c)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "generation %s now starts at %s\n", pos[0], t.Format(time.RFC3339))
		return nil
	case "mark":
		if *unit == "" || *as == "" {
			return fmt.Errorf("run mark needs --unit PATH and --as bypassed|ended_normal: %w", errUsage)
		}
		to := jobrun.JobState(*as)
		if to != jobrun.StateBypassed && to != jobrun.StateEndedNormal {
			return fmt.Errorf("run mark: --as %q: want bypassed or ended_normal: %w", *as, errUsage)
		}
		if err := svc.Mark(ctx, actor, pos[0], *unit, to); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "marked unit %s of generation %s %s\n", *unit, pos[0], to)
		return nil
	}
	return nil
}

func runShow(ctx context.Context, w io.Writer, svc *ops.Service, id string, loc *time.Location) error {
	d, err := svc.GenerationDetail(ctx, id)
	if err != nil {
		return err
	}
	return showAPIGeneration(w, web.NewAPIGenerationOf(d), loc)
}

// statusHeader labels the columns of `run status`: the business date, the
// start on the business day's clock (00:00-47:59), and the instant it is
// scheduled at (with its zone).
const statusHeader = "RUN-ID\tJOBNET\tBUSINESS DATE\tSTART (BUSINESS DAY)\tRULE\tSTATE\tSCHEDULED AT"

// cliZone is the zone the CLI shows times in: KOYOMI_TZ (an IANA name),
// else the machine's (TZ). Every time printed carries its zone
// (calendar.Stamp).
func cliZone(e env) (*time.Location, error) {
	if z := strings.TrimSpace(e.getenv("KOYOMI_TZ")); z != "" {
		loc, err := calendar.LoadZone(z)
		if err != nil {
			return nil, fmt.Errorf("KOYOMI_TZ: %w", err)
		}
		return loc, nil
	}
	return time.Local, nil
}

func stamp(t *time.Time, loc *time.Location) string {
	if t == nil {
		return "-"
	}
	return calendar.Stamp(*t, loc, calendar.StampSeconds)
}

func runLogs(ctx context.Context, w io.Writer, svc *ops.Service, id, unit string, attempt int, follow bool) error {
	if attempt < 0 {
		return fmt.Errorf("run logs: --attempt %d: want a number from 1: %w", attempt, errUsage)
	}
	cursor := ""
	for {
		c, err := svc.AttemptLogs(ctx, id, unit, attempt, cursor)
		if err != nil {
			return err
		}
		if _, err := w.Write(c.Data); err != nil {
			return err
		}
		if c.Next != "" {
			cursor = c.Next
		}
		if c.More {
			continue
		}
		if !follow || attempt > 0 {
			return nil
		}
		d, err := svc.GenerationDetail(ctx, id)
		if err != nil {
			return err
		}
		ended := false
		for _, u := range d.Units {
			if u.Path == unit && u.State.IsTerminal() {
				ended = true
			}
		}
		if ended {
			// One more read picks up what was written before the end.
			c, err := svc.UnitLogs(ctx, id, unit, cursor)
			if err == nil {
				_, err = w.Write(c.Data)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// paramFlag collects repeated --param K=V.
type paramFlag struct{ m map[string]string }

func (p *paramFlag) String() string { return "" }

func (p *paramFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want K=V, got %q", v)
	}
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[k] = val
	return nil
}
