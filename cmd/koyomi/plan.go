package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// planRunJSON is one line of `koyomi plan -o json`.
type planRunJSON struct {
	Jobnet       string `json:"jobnet"`
	Rule         string `json:"rule"`
	BusinessDate string `json:"business_date"`
	Start        string `json:"start"`
	// StartClock is the business-day time asked for (00:00-47:59); Start
	// is the instant it resolves to (see the explanation across DST).
	StartClock  string `json:"start_clock"`
	Explanation string `json:"explanation"`
}

func cmdPlan(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "plan", "plan [-f FILE | --jobnet F/N] [--from D] [--to D] [--explain] [-o json]")
	cf := addCatalogFlags(fs)
	jn := fs.String("jobnet", "", "only this jobnet (folder/name; several separated by commas)")
	from := fs.String("from", "", "first business date (default: January 1 of this year)")
	to := fs.String("to", "", "last business date (default: December 31 of this year)")
	explain := fs.Bool("explain", false, "print each run's explanation and the candidates that yielded no run")
	out := fs.String("o", "text", "output: text or json")
	if _, err := parseArgs(e, fs, args); err != nil {
		return err
	}
	df, dt := thisYear()
	f, t, err := parseRange(*from, *to, df, dt)
	if err != nil {
		return err
	}
	cat, err := cf.load(ctx, e)
	if err != nil {
		return err
	}
	var keep func(*jobnet.Jobnet) bool
	if *jn != "" {
		want := map[string]bool{}
		for _, p := range strings.Split(*jn, ",") {
			p = strings.TrimSpace(p)
			if _, ok := cat.Jobnet(p); !ok {
				return fmt.Errorf("jobnet %q: %w", p, fault.ErrNotFound)
			}
			want[p] = true
		}
		keep = func(j *jobnet.Jobnet) bool { return want[j.Path()] }
	}
	results, err := cat.Plan(f, t, keep)
	if err != nil {
		return err
	}
	runs := plan.Flatten(results)
	switch *out {
	case "json":
		rows := make([]planRunJSON, 0, len(runs))
		for _, r := range runs {
			rows = append(rows, planRunJSON{Jobnet: r.Jobnet, Rule: r.Rule, BusinessDate: r.BusinessDate.String(), Start: r.Start.Format(time.RFC3339), StartClock: r.StartClock.String(), Explanation: r.Explanation})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "text":
		w := e.stdout
		fmt.Fprintf(w, "%-13s  %-22s  %-32s  %s\n", "BUSINESS DATE", "START", "JOBNET", "RULE")
		for _, r := range runs {
			fmt.Fprintf(w, "%-13s  %-22s  %-32s  %s\n", r.BusinessDate, r.Start.Format("2006-01-02 15:04 MST"), r.Jobnet, r.Rule)
			if *explain {
				fmt.Fprintf(w, "    ↳ %s\n", r.Explanation)
			}
		}
		if *explain {
			for _, res := range results {
				for _, d := range res.Dropped {
					fmt.Fprintf(w, "no run: %s %s: %s\n", d.Jobnet, d.Rule, d.Explanation)
				}
			}
		}
		fmt.Fprintf(w, "%d run(s)\n", len(runs))
		return nil
	}
	return fmt.Errorf("-o %q: want text or json: %w", *out, errUsage)
}
