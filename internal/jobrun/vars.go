package jobrun

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// The variables every job gets.
const (
	VarBusinessDate = "KOYOMI_BUSINESS_DATE" // YYYY-MM-DD
	VarJobnet       = "KOYOMI_JOBNET"        // folder/name of the root jobnet
	VarJob          = "KOYOMI_JOB"           // unit path, e.g. "load/extract"
	VarRunID        = "KOYOMI_RUN_ID"        // generation id
	VarAttempt      = "KOYOMI_ATTEMPT"       // attempt number, from 1
)

// GenVars is what the variables of one job attempt are made of.
type GenVars struct {
	BusinessDate calendar.Date
	Jobnet       string // folder/name
	Job          string // unit path
	RunID        string
	Attempt      int
	// Params are the generation's parameters (jobnet defaults overlaid with
	// the run's own). Names starting with KOYOMI_ are ignored: the built-in
	// variables always win.
	Params map[string]string
}

// Variables returns the environment of one job attempt: the generation
// parameters plus KOYOMI_BUSINESS_DATE, KOYOMI_JOBNET, KOYOMI_JOB,
// KOYOMI_RUN_ID and KOYOMI_ATTEMPT.
func Variables(v GenVars) map[string]string {
	out := make(map[string]string, len(v.Params)+5)
	for k, val := range v.Params {
		if !strings.HasPrefix(k, "KOYOMI_") {
			out[k] = val
		}
	}
	out[VarBusinessDate] = v.BusinessDate.String()
	out[VarJobnet] = v.Jobnet
	out[VarJob] = v.Job
	out[VarRunID] = v.RunID
	out[VarAttempt] = strconv.Itoa(v.Attempt)
	return out
}

// Expand replaces ${NAME} macros in s with vars[NAME]. "$$" is a literal "$"
// (write $${HOME} to pass ${HOME} to a shell); a "$" followed by anything
// other than "{" or "$" is kept as is, so shell variables like $HOME pass
// through. ${NAME:format} formats a YYYY-MM-DD value with the tokens yyyy,
// yy, mm and dd and any non-letter separators (${KOYOMI_BUSINESS_DATE:yyyymmdd}
// → 20260401). An unknown variable, an unterminated macro, a bad name or
// format is an error naming it and its column, unwrapping to fault.ErrInvalid.
func Expand(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) || (s[i+1] != '$' && s[i+1] != '{') {
			b.WriteByte(c)
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("column %d: unterminated macro %q: want ${NAME}: %w", i+1, s[i:], fault.ErrInvalid)
		}
		body := s[i+2 : i+2+end]
		name, format, hasFormat := strings.Cut(body, ":")
		if !validVarName(name) {
			return "", fmt.Errorf("column %d: bad variable name %q in %q: %w", i+1, name, "${"+body+"}", fault.ErrInvalid)
		}
		val, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("column %d: unknown variable %q: %w", i+1, name, fault.ErrInvalid)
		}
		if hasFormat {
			f, err := formatDate(val, format)
			if err != nil {
				return "", fmt.Errorf("column %d: ${%s}: %w", i+1, body, err)
			}
			val = f
		}
		b.WriteString(val)
		i += 2 + end
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// formatDate renders a YYYY-MM-DD value with the tokens yyyy, yy, mm, dd.
func formatDate(val, format string) (string, error) {
	d, err := calendar.ParseDate(val)
	if err != nil {
		return "", fmt.Errorf("format %q needs a date value, got %q: %w", format, val, fault.ErrInvalid)
	}
	if format == "" {
		return "", fmt.Errorf("empty date format: want e.g. yyyymmdd: %w", fault.ErrInvalid)
	}
	y, m, dd := d.Civil()
	var b strings.Builder
	for i := 0; i < len(format); {
		rest := format[i:]
		switch {
		case strings.HasPrefix(rest, "yyyy"):
			fmt.Fprintf(&b, "%04d", y)
			i += 4
		case strings.HasPrefix(rest, "yy"):
			fmt.Fprintf(&b, "%02d", y%100)
			i += 2
		case strings.HasPrefix(rest, "mm"):
			fmt.Fprintf(&b, "%02d", int(m))
			i += 2
		case strings.HasPrefix(rest, "dd"):
			fmt.Fprintf(&b, "%02d", dd)
			i += 2
		case (rest[0] >= 'a' && rest[0] <= 'z') || (rest[0] >= 'A' && rest[0] <= 'Z'):
			return "", fmt.Errorf("date format %q: unknown token at %q, want yyyy, yy, mm, dd and separators: %w", format, rest, fault.ErrInvalid)
		default:
			b.WriteByte(rest[0])
			i++
		}
	}
	return b.String(), nil
}

// ExpandJob returns a copy of job with macros expanded in every field that
// reaches the job's process: env values; local command and workdir; ECS
// command and tag values; EKS image, command, args and label values. Every
// failing field is reported with its path (fault.Problems, ErrInvalid).
func ExpandJob(job jobnet.Job, vars map[string]string) (jobnet.Job, error) {
	var ps fault.Problems
	str := func(path string, s *string) {
		v, err := Expand(*s, vars)
		if err != nil {
			ps.Add(path, "%s", unwrapMsg(err))
			return
		}
		*s = v
	}
	list := func(path string, in []string) []string {
		if in == nil {
			return nil
		}
		out := slices.Clone(in)
		for i := range out {
			str(fmt.Sprintf("%s[%d]", path, i), &out[i])
		}
		return out
	}
	dict := func(path string, in map[string]string) map[string]string {
		if in == nil {
			return nil
		}
		out := maps.Clone(in)
		for _, k := range slices.Sorted(maps.Keys(out)) {
			v := out[k]
			str(path+"."+k, &v)
			out[k] = v
		}
		return out
	}
	out := job
	out.Env = dict("env", job.Env)
	if job.Local != nil {
		l := *job.Local
		str("local.command", &l.Command)
		str("local.workdir", &l.WorkDir)
		out.Local = &l
	}
	if job.ECS != nil {
		e := *job.ECS
		e.Command = list("ecs.command", e.Command)
		e.Tags = dict("ecs.tags", e.Tags)
		e.Subnets = slices.Clone(e.Subnets)
		e.SecurityGroups = slices.Clone(e.SecurityGroups)
		e.CapacityProviders = slices.Clone(e.CapacityProviders)
		out.ECS = &e
	}
	if job.EKS != nil {
		k := *job.EKS
		str("eks.image", &k.Image)
		k.Command = list("eks.command", k.Command)
		k.Args = list("eks.args", k.Args)
		k.Labels = dict("eks.labels", k.Labels)
		k.NodeSelector = maps.Clone(k.NodeSelector)
		k.Tolerations = slices.Clone(k.Tolerations)
		out.EKS = &k
	}
	if job.Retry != nil {
		r := *job.Retry
		r.On = slices.Clone(r.On)
		out.Retry = &r
	}
	if err := ps.Err(); err != nil {
		return job, fmt.Errorf("expand macros: %w", err)
	}
	return out, nil
}

// unwrapMsg drops the category suffix a Problem does not need.
func unwrapMsg(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+fault.ErrInvalid.Error())
}
