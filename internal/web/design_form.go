package web

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// unitValues flattens a unit into the properties form's fields.
func unitValues(u *jobnet.Unit) (map[string]string, map[string]bool) {
	v := map[string]string{"name": u.Name, "title": u.Title, "description": u.Description}
	ck := map[string]bool{"hold=true": u.Hold}
	if j := u.Job; j != nil {
		v["job.type"] = string(j.Type)
		if l := j.Local; l != nil {
			v["local.command"], v["local.workdir"] = l.Command, l.WorkDir
			ck["local.keep_children=true"] = l.KeepChildren
		}
		if e := j.ECS; e != nil {
			v["ecs.cluster"], v["ecs.task_definition"], v["ecs.launch_type"] = e.Cluster, e.TaskDefinition, e.LaunchType
			v["ecs.subnets"] = strings.Join(e.Subnets, ", ")
			v["ecs.security_groups"] = strings.Join(e.SecurityGroups, ", ")
			v["ecs.command"] = strings.Join(e.Command, "\n")
			v["ecs.cpu"], v["ecs.memory"] = intText(e.CPU), intText(e.Memory)
			v["ecs.task_cpu"], v["ecs.task_memory"] = e.TaskCPU, e.TaskMemory
		}
		if k := j.EKS; k != nil {
			v["eks.image"], v["eks.namespace"], v["eks.service_account"], v["eks.mode"] = k.Image, k.Namespace, k.ServiceAccount, k.Mode
			v["eks.command"] = strings.Join(k.Command, "\n")
		}
		v["end.mode"] = string(j.End.Mode)
		if v["end.mode"] == "" {
			v["end.mode"] = string(jobnet.EndByThresholds)
		}
		v["end.warning"], v["end.abnormal"] = intText(j.End.WarningThreshold), intText(j.End.AbnormalThreshold)
		if r := j.Retry; r != nil {
			v["retry.count"], v["retry.interval"] = intText(r.Count), durText(r.Interval)
			for _, o := range r.On {
				ck["retry.on="+string(o)] = true
			}
		}
		if t := j.Timeout; t != nil {
			v["timeout.after"], v["timeout.end_as"] = durText(t.After), t.EndAs
		}
		v["pool"] = j.Pool
	}
	if g := u.Judgment; g != nil {
		v["judgment.kind"], v["judgment.op"], v["judgment.value"] = string(g.Kind), g.Op, g.Value
		v["judgment.path"], v["judgment.variable"] = g.Path, g.Variable
	}
	if w := u.Wait; w != nil {
		v["wait.jobnet"], v["wait.unit"], v["wait.limit"] = w.Jobnet, w.Unit, durText(w.Limit)
	}
	if d := u.Delay; d != nil {
		if d.Start != nil {
			v["delay.start_at"], v["delay.start_after"] = clockText(d.Start.At), durText(d.Start.After)
		}
		if d.End != nil {
			v["delay.end_at"], v["delay.end_after"] = clockText(d.End.At), durText(d.End.After)
		}
		v["delay.max_duration"] = durText(d.MaxDuration)
	}
	return v, ck
}

func intText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func durText(d jobnet.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func clockText(c *calendar.ClockTime) string {
	if c == nil {
		return ""
	}
	return c.String()
}

// formReader reads typed fields and collects field errors.
type formReader struct {
	f    url.Values
	errs map[string]string
}

func (r *formReader) text(k string) string { return strings.TrimSpace(r.f.Get(k)) }

func (r *formReader) int(k string) int {
	s := r.text(k)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		r.errs[k] = fmt.Sprintf("%q is not a whole number", s)
	}
	return n
}

func (r *formReader) dur(k string) jobnet.Duration {
	s := r.text(k)
	var d jobnet.Duration
	if s == "" {
		return 0
	}
	if err := d.UnmarshalText([]byte(s)); err != nil {
		r.errs[k] = err.Error()
	}
	return d
}

func (r *formReader) clock(k string) *calendar.ClockTime {
	s := r.text(k)
	if s == "" {
		return nil
	}
	c, err := calendar.ParseClockTime(s)
	if err != nil {
		r.errs[k] = err.Error()
		return nil
	}
	return &c
}

func (r *formReader) list(k, sep string) []string {
	var out []string
	for _, p := range strings.Split(r.f.Get(k), sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *formReader) lines(k string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(r.f.Get(k), "\r\n", "\n"), "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// unitFromForm applies the properties form to orig. The unit's kind, its
// nested net, position and the fields the form does not show (environment,
// tags, connections…) are kept. Errors are keyed by form field.
func unitFromForm(orig jobnet.Unit, f url.Values) (jobnet.Unit, map[string]string) {
	r := &formReader{f: f, errs: map[string]string{}}
	u := orig
	u.Name = r.text("name")
	u.Title = r.text("title")
	switch {
	case u.Name == "":
		r.errs["name"] = "required"
	case !jobnet.ValidName(u.Name) && strings.ContainsFunc(u.Name, func(c rune) bool { return c > unicode.MaxASCII }):
		// A name in Japanese (or any script) is the title; the
		// identifier is made from it and may be edited.
		if u.Title == "" {
			u.Title = u.Name
		}
		u.Name = jobnet.SafeName(u.Name)
	}
	u.Description = r.text("description")
	u.Hold = f.Get("hold") == "true"
	switch u.Kind {
	case jobnet.UnitJob:
		u.Job = jobFromForm(r, orig.Job)
	case jobnet.UnitJudgment:
		u.Judgment = &jobnet.Judgment{Kind: jobnet.JudgmentKind(r.text("judgment.kind")), Op: r.text("judgment.op"),
			Value: r.text("judgment.value"), Path: r.text("judgment.path"), Variable: r.text("judgment.variable")}
	case jobnet.UnitWait:
		u.Wait = &jobnet.Wait{Jobnet: r.text("wait.jobnet"), Unit: r.text("wait.unit"), Limit: r.dur("wait.limit")}
	}
	if u.Kind == jobnet.UnitJob || u.Kind == jobnet.UnitJobnet {
		d := &jobnet.DelayMonitor{MaxDuration: r.dur("delay.max_duration")}
		if at, after := r.clock("delay.start_at"), r.dur("delay.start_after"); at != nil || after != 0 {
			d.Start = &jobnet.Deadline{At: at, After: after}
		}
		if at, after := r.clock("delay.end_at"), r.dur("delay.end_after"); at != nil || after != 0 {
			d.End = &jobnet.Deadline{At: at, After: after}
		}
		u.Delay = d
		if d.Start == nil && d.End == nil && d.MaxDuration == 0 {
			u.Delay = nil
		}
	}
	return u, r.errs
}

func jobFromForm(r *formReader, orig *jobnet.Job) *jobnet.Job {
	j := &jobnet.Job{}
	if orig != nil {
		j.Env = orig.Env
	}
	j.Type = jobnet.JobType(r.text("job.type"))
	if j.Type == "" {
		j.Type = jobnet.JobLocal
	}
	switch j.Type {
	case jobnet.JobLocal:
		j.Local = &jobnet.LocalSpec{Command: r.f.Get("local.command"), WorkDir: r.text("local.workdir"), KeepChildren: r.f.Get("local.keep_children") == "true"}
		j.Local.Command = strings.TrimSpace(strings.ReplaceAll(j.Local.Command, "\r\n", "\n"))
	case jobnet.JobECS:
		e := &jobnet.ECSSpec{}
		if orig != nil && orig.ECS != nil {
			*e = *orig.ECS
		}
		e.Cluster, e.TaskDefinition, e.LaunchType = r.text("ecs.cluster"), r.text("ecs.task_definition"), r.text("ecs.launch_type")
		e.Subnets, e.SecurityGroups = r.list("ecs.subnets", ","), r.list("ecs.security_groups", ",")
		e.Command = r.lines("ecs.command")
		e.CPU, e.Memory = r.int("ecs.cpu"), r.int("ecs.memory")
		e.TaskCPU, e.TaskMemory = r.text("ecs.task_cpu"), r.text("ecs.task_memory")
		j.ECS = e
	case jobnet.JobEKS:
		k := &jobnet.EKSSpec{}
		if orig != nil && orig.EKS != nil {
			*k = *orig.EKS
		}
		k.Image, k.Namespace, k.ServiceAccount, k.Mode = r.text("eks.image"), r.text("eks.namespace"), r.text("eks.service_account"), r.text("eks.mode")
		k.Command = r.lines("eks.command")
		j.EKS = k
	}
	j.End = jobnet.EndJudgment{Mode: jobnet.EndMode(r.text("end.mode")), WarningThreshold: r.int("end.warning"), AbnormalThreshold: r.int("end.abnormal")}
	if j.End.Mode == jobnet.EndByThresholds {
		j.End.Mode = ""
	}
	retry := &jobnet.Retry{Count: r.int("retry.count"), Interval: r.dur("retry.interval")}
	for _, o := range r.f["retry.on"] {
		oc := jobnet.Outcome(o)
		if !slices.Contains([]jobnet.Outcome{jobnet.OutcomeAbnormal, jobnet.OutcomeFailedToStart, jobnet.OutcomeUnknown, jobnet.OutcomeTimeout}, oc) {
			r.errs["retry.on"] = fmt.Sprintf("unknown outcome %q", o)
			continue
		}
		retry.On = append(retry.On, oc)
	}
	if retry.Count != 0 || retry.Interval != 0 || len(retry.On) > 0 {
		j.Retry = retry
	}
	if after, endAs := r.dur("timeout.after"), r.text("timeout.end_as"); after != 0 || endAs != "" {
		j.Timeout = &jobnet.Timeout{After: after, EndAs: endAs}
	}
	j.Pool = r.text("pool")
	return j
}
