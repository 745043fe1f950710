package jobrun

import (
	"strings"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// CheckMacros expands the ${...} macros of every job and judgment of j with
// the variables a scheduled generation of j gets (the built-ins and j's
// default parameters) and returns every macro that would fail at run time,
// with its path (`units[sub].net.units[load].job.local.command: column 6:
// unknown variable "DAY"`). Apply runs it, so a bad macro is refused when it
// is written, not found on the night it runs.
func CheckMacros(j *jobnet.Jobnet) fault.Problems {
	var ps fault.Problems
	jobnet.Walk(&j.Net, func(path string, u *jobnet.Unit) {
		vars := Variables(GenVars{BusinessDate: calendar.NewDate(2026, 1, 31), Jobnet: j.Path(), Job: path, RunID: "check", Attempt: 1, Params: j.Params})
		at := unitPath(path)
		if u.Job != nil {
			if _, err := ExpandJob(*u.Job, vars); err != nil {
				if jps, ok := fault.AsProblems(err); ok {
					ps = append(ps, jps.Prefix(at+".job")...)
				} else {
					ps.Add(at+".job", "%s", unwrapMsg(err))
				}
			}
		}
		if jd := u.Judgment; jd != nil {
			for _, f := range []struct{ name, v string }{{"value", jd.Value}, {"path", jd.Path}} {
				if _, err := Expand(f.v, vars); err != nil {
					ps.Add(at+".judgment."+f.name, "%s", unwrapMsg(err))
				}
			}
			if jd.Kind == jobnet.JudgeVariable && jd.Variable != "" {
				if _, ok := vars[jd.Variable]; !ok {
					ps.Add(at+".judgment.variable", "unknown variable %q: declare it under params", jd.Variable)
				}
			}
		}
	})
	return ps
}

// unitPath turns "sub/load" into "units[sub].net.units[load]".
func unitPath(path string) string {
	parts := strings.Split(path, jobnet.PathSep)
	for i, p := range parts {
		parts[i] = "units[" + p + "]"
	}
	return strings.Join(parts, ".net.")
}
