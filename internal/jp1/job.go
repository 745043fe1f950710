package jp1

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shQuote quotes s for /bin/sh.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unit maps one unit inside a jobnet.
func (m *mapper) unit(n *node) jobnet.Unit {
	u := n.u
	ty := u.Type()
	typ := param(u, "ty")
	name := jp1Name(n)
	if n.name != name {
		m.note(Approximated, u, n.path, nil, "renamed %s (Koyomi names are A-Z a-z 0-9 _ . -); the JP1 name is its title", n.name)
	}
	desc := describe(u, n, name)
	if p := param(u, "cm"); p != nil {
		m.note(Mapped, u, n.path, p, "→ description")
	}
	var out jobnet.Unit
	switch ty {
	case "j", "rj", "pj", "rp", "rpj":
		out = m.job(n, typ, desc)
	case "n", "rn":
		m.note(Mapped, u, n.path, typ, "nested jobnet → unit %s", n.upath)
		net := m.net(n)
		out = jobnet.Unit{Name: n.name, Kind: jobnet.UnitJobnet, Description: desc, Net: &net}
		m.nestedSchedule(n)
		var rps []*ruleParams
		for _, rp := range m.rules(u) {
			if rp.p["sy"] != nil || rp.p["ey"] != nil {
				rps = append(rps, rp)
			}
		}
		out.Delay = m.jobnetDelay(n, rps, m.calendarOf(n.root.parent), false)
		m.commonJobnetParams(n)
	case "jdj", "rjdj":
		out = m.judgment(n, typ, desc)
	case "flwj", "rflwj":
		out = m.fileWait(n, typ, desc)
	case "tmwj", "rtmwj":
		out = m.intervalWait(n, typ, desc)
	default:
		m.note(Unmapped, u, n.path, typ, "Koyomi has no unit of JP1 type %s; a held placeholder (noop job) keeps its place", ty)
		out = placeholder(n.name, desc, ty)
	}
	if ty == "n" || ty == "rn" {
		if p := param(u, "ha"); p != nil {
			m.holdUnit(n, p, &out)
		}
	}
	if n.name != name {
		out.Title = name
	}
	return out
}

func (m *mapper) holdUnit(n *node, p *Param, out *jobnet.Unit) {
	switch p.Value {
	case "y":
		out.Hold = true
		m.note(Mapped, n.u, n.path, p, "→ hold")
	case "n":
		m.note(Mapped, n.u, n.path, p, "not held")
	default:
		m.note(Unmapped, n.u, n.path, p, "holding depending on the previous generation's result is not carried over")
	}
}

// nestedSchedule reports schedule rules of a nested jobnet: Koyomi runs a
// nested jobnet in every generation of its root, when its predecessors end.
func (m *mapper) nestedSchedule(n *node) {
	for _, rp := range m.rules(n.u) {
		for _, k := range scheduleKeys {
			p := rp.p[k]
			if p == nil || k == "sy" || k == "ey" {
				continue
			}
			if k == "ln" || k == "sd" && rp.vals[k] == "ud" {
				m.note(Approximated, n.u, n.path, p, "the nested jobnet runs in every generation of its root jobnet")
				continue
			}
			m.note(Unmapped, n.u, n.path, p, "a nested jobnet has no schedule of its own in Koyomi: it runs in every generation of its root jobnet when its predecessors end")
		}
	}
	for _, k := range []string{"jc", "ejn", "ed", "ms"} {
		for _, p := range params(n.u, k) {
			m.note(Unmapped, n.u, n.path, p, "schedule settings of a nested jobnet are not carried over")
		}
	}
}

func minutes(n int) jobnet.Duration { return jobnet.Duration(time.Duration(n) * time.Minute) }

// job maps a Unix or PC job to a local job.
func (m *mapper) job(n *node, typ *Param, desc string) jobnet.Unit {
	u := n.u
	get := func(k string) (*Param, string) {
		p := param(u, k)
		if p == nil {
			return nil, ""
		}
		return p, Unquote(p.Value)
	}
	out := jobnet.Unit{Name: n.name, Kind: jobnet.UnitJob, Description: desc}
	if u.Type() == "rpj" {
		m.note(Approximated, u, n.path, typ, "ty=rpj is not in the manual (a recovery PC job is rp); read as rp")
	}
	scP, sc := get("sc")
	teP, te := get("te")
	prmP, prm := get("prm")
	var cmd string
	switch {
	case teP != nil:
		cmd = te
		m.note(Mapped, u, n.path, teP, "→ command")
		if scP != nil {
			m.note(Approximated, u, n.path, scP, "the command text te= runs; the script file is not used")
		}
	case scP != nil:
		cmd = shQuote(sc)
		m.note(Mapped, u, n.path, scP, "→ command")
	default:
		m.note(Unmapped, u, n.path, typ, "a job without sc= or te=: a held placeholder keeps its place")
		return placeholder(n.name, desc, u.Type())
	}
	if prmP != nil {
		cmd += " " + prm
		m.note(Mapped, u, n.path, prmP, "→ command arguments")
	}
	var redir []string
	for _, r := range []struct{ key, app, op string }{{"si", "", "<"}, {"so", "soa", ">"}, {"se", "sea", "2>"}} {
		p, v := get(r.key)
		if p == nil {
			continue
		}
		op := r.op
		if r.app != "" {
			if ap := param(u, r.app); ap != nil {
				if ap.Value == "add" {
					op = strings.Replace(op, ">", ">>", 1)
				}
				m.note(Mapped, u, n.path, ap, "→ %s", op)
			}
		}
		redir = append(redir, op+" "+shQuote(v))
		m.note(Mapped, u, n.path, p, "→ redirection %s", op)
	}
	if len(redir) > 0 {
		cmd = "{ " + cmd + "\n} " + strings.Join(redir, " ")
	}
	m.note(Mapped, u, n.path, typ, "%s job → local job", map[bool]string{true: "PC", false: "Unix"}[strings.Contains(u.Type(), "p")])
	job := &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: cmd}}
	if p, v := get("wkp"); p != nil {
		job.Local.WorkDir = v
		m.note(Mapped, u, n.path, p, "→ workdir")
	}
	for _, p := range params(u, "env") {
		k, v, ok := strings.Cut(Unquote(p.Value), "=")
		if !ok || !envNameRE.MatchString(k) || strings.HasPrefix(k, "KOYOMI_") {
			m.note(Unmapped, u, n.path, p, "not NAME=value with a shell variable name")
			continue
		}
		if job.Env == nil {
			job.Env = map[string]string{}
		}
		job.Env[k] = v
		m.note(Mapped, u, n.path, p, "→ env %s", k)
	}
	// end judgment
	jd := "cod"
	if p := param(u, "jd"); p != nil {
		jd = p.Value
		switch jd {
		case "cod":
			m.note(Mapped, u, n.path, p, "judged by return code")
		case "nm":
			job.End.Mode = jobnet.EndAlwaysNormal
			m.note(Mapped, u, n.path, p, "→ end: always_normal")
		default:
			m.note(Unmapped, u, n.path, p, "only judgment by return code (cod) and always normal (nm) are carried over; the job is judged by its return code")
			jd = "cod"
		}
	}
	wthP, tho := param(u, "wth"), param(u, "tho")
	if jd == "cod" {
		w, a := 0, 0
		if tho != nil {
			v, err := strconv.Atoi(tho.Value)
			if err != nil || v < 0 {
				m.fail(u, tho, "want a number")
			}
			a, w = v, v
			m.note(Mapped, u, n.path, tho, "→ abnormal_threshold %d", v)
		}
		if wthP != nil {
			v, err := strconv.Atoi(wthP.Value)
			if err != nil || v < 0 {
				m.fail(u, wthP, "want a number")
			}
			w = v
			if tho == nil || v > a {
				a = max(a, v)
			}
			m.note(Mapped, u, n.path, wthP, "→ warning_threshold %d", v)
		}
		job.End.WarningThreshold, job.End.AbnormalThreshold = w, a
	} else {
		for _, p := range []*Param{wthP, tho} {
			if p != nil {
				m.note(Mapped, u, n.path, p, "no effect: the job always ends normally")
			}
		}
	}
	if p := param(u, "jdf"); p != nil {
		m.note(Unmapped, u, n.path, p, "judgment by file is not carried over")
	}
	if p := param(u, "etm"); p != nil {
		v, err := strconv.Atoi(p.Value)
		if err != nil || v < 1 {
			m.fail(u, p, "want minutes")
		} else {
			job.Timeout = &jobnet.Timeout{After: minutes(v)}
			m.note(Mapped, u, n.path, p, "→ timeout %s (killed, ends abnormally)", minutes(v))
		}
	}
	if p := param(u, "fd"); p != nil {
		if v, err := strconv.Atoi(p.Value); err == nil && v >= 1 {
			out.Delay = &jobnet.DelayMonitor{MaxDuration: minutes(v)}
			m.note(Approximated, u, n.path, p, "the expected run time → end delay when running longer than %s", minutes(v))
		} else {
			m.fail(u, p, "want minutes")
		}
	}
	if p := param(u, "rec"); p != nil {
		v, err := strconv.Atoi(p.Value)
		if err != nil || v < 0 || v > 100 {
			m.fail(u, p, "want a retry count")
		} else if v > 0 {
			iv := retryIntervalDefault
			if ip := param(u, "rei"); ip != nil {
				if x, err := strconv.Atoi(ip.Value); err == nil && x >= 1 {
					iv = time.Duration(x) * time.Minute
					m.note(Mapped, u, n.path, ip, "→ retry interval %s", jobnet.Duration(iv))
				} else {
					m.fail(u, ip, "want minutes")
				}
			}
			job.Retry = &jobnet.Retry{Count: v, Interval: jobnet.Duration(iv), On: []jobnet.Outcome{jobnet.OutcomeAbnormal}}
			m.note(Mapped, u, n.path, p, "→ retry %d times on abnormal end", v)
		}
		for _, k := range []string{"rjs", "rje"} {
			if rp := param(u, k); rp != nil {
				m.note(Approximated, u, n.path, rp, "Koyomi retries after every abnormal end, not only for a range of return codes")
			}
		}
	}
	if p := param(u, "ha"); p != nil {
		m.holdUnit(n, p, &out)
	}
	m.transfers(n)
	for _, k := range []string{"ex", "un", "eu", "jty"} {
		if p := param(u, k); p != nil {
			msg := map[string]string{"ex": "the execution agent is not kept: the job runs on the Koyomi host",
				"un": "the job runs as the user of the Koyomi server", "eu": "the job runs as the user of the Koyomi server",
				"jty": "Koyomi starts local jobs itself; JP1's queuing or queueless execution does not apply"}[k]
			m.note(Approximated, u, n.path, p, "%s", msg)
		}
	}
	if p := param(u, "pr"); p != nil {
		m.note(Unmapped, u, n.path, p, "Koyomi has no job priority; limit concurrency with a pool instead")
	}
	out.Job = job
	return out
}

var judgeOps = map[string]string{"gt": "gt", "ge": "ge", "lt": "lt", "le": "le", "eq": "eq", "ne": "ne"}

// judgment maps a judgment job.
func (m *mapper) judgment(n *node, typ *Param, desc string) jobnet.Unit {
	u := n.u
	ej := param(u, "ej")
	out := jobnet.Unit{Name: n.name, Kind: jobnet.UnitJudgment, Description: desc}
	if p := param(u, "ha"); p != nil {
		m.holdUnit(n, p, &out)
	}
	if ej == nil {
		// the manual's default judgment: the return code is greater than ejc
		ej = &Param{Key: "ej", Value: "gt", Line: u.Line}
	}
	switch {
	case judgeOps[ej.Value] != "":
		c := param(u, "ejc")
		if c == nil {
			m.fail(u, ej, "a return-code judgment needs ejc=")
			return placeholder(n.name, desc, u.Type())
		}
		if _, err := strconv.Atoi(c.Value); err != nil {
			m.fail(u, c, "want a number")
		}
		out.Judgment = &jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: judgeOps[ej.Value], Value: c.Value}
		m.note(Mapped, u, n.path, ej, "→ judgment: exit code %s %s", ej.Value, c.Value)
		m.note(Mapped, u, n.path, c, "judgment value")
	case ej.Value == "ef" || ej.Value == "nf":
		f := param(u, "ejf")
		if f == nil {
			m.fail(u, ej, "a file judgment needs ejf=")
			return placeholder(n.name, desc, u.Type())
		}
		out.Judgment = &jobnet.Judgment{Kind: jobnet.JudgeFileExists, Path: Unquote(f.Value)}
		if ej.Value == "nf" {
			m.note(Mapped, u, n.path, ej, "→ judgment: file exists, dependent units on the false edge")
		} else {
			m.note(Mapped, u, n.path, ej, "→ judgment: file exists")
		}
		m.note(Mapped, u, n.path, f, "judged file")
	default:
		m.note(Unmapped, u, n.path, ej, "judgment %s is not carried over: a held placeholder keeps its place", ej.Value)
		return placeholder(n.name, desc, u.Type())
	}
	m.note(Mapped, u, n.path, typ, "judgment job → judgment")
	return out
}

// fileWait maps a file monitoring job that waits for a file to be created
// to a local job polling for it.
func (m *mapper) fileWait(n *node, typ *Param, desc string) jobnet.Unit {
	u := n.u
	f := param(u, "flwf")
	c := param(u, "flwc")
	if f == nil || c != nil && c.Value != "c" {
		m.note(Unmapped, u, n.path, typ, "only waiting for a file to be created (flwc=c) is carried over: a held placeholder keeps its place")
		return placeholder(n.name, desc, u.Type())
	}
	iv := 60
	if p := param(u, "flwi"); p != nil {
		if v, err := strconv.Atoi(p.Value); err == nil && v >= 1 {
			iv = v
			m.note(Mapped, u, n.path, p, "poll interval %ds", v)
		}
	}
	if c != nil {
		m.note(Mapped, u, n.path, c, "wait for creation")
	}
	path := Unquote(f.Value)
	cmd := fmt.Sprintf("until [ -e %s ]; do sleep %d; done", shQuote(path), iv)
	m.note(Mapped, u, n.path, f, "watched file")
	m.note(Approximated, u, n.path, typ, "file monitoring job → local job that polls for the file on the Koyomi host")
	return jobnet.Unit{Name: n.name, Kind: jobnet.UnitJob, Description: desc,
		Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: cmd}}}
}

// intervalWait maps an execution-interval control job to a local sleep.
func (m *mapper) intervalWait(n *node, typ *Param, desc string) jobnet.Unit {
	u := n.u
	mins := 10
	if p := param(u, "tmitv"); p != nil {
		v, err := strconv.Atoi(p.Value)
		if err != nil || v < 1 {
			m.fail(u, p, "want minutes")
		} else {
			mins = v
			m.note(Mapped, u, n.path, p, "wait %d minutes", v)
		}
	}
	m.note(Approximated, u, n.path, typ, "execution-interval control job → local job sleeping %d minutes", mins)
	return jobnet.Unit{Name: n.name, Kind: jobnet.UnitJob, Description: desc,
		Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: fmt.Sprintf("sleep %d", mins*60)}}}
}

// transfers reports the file transfer parameters: empty ones have no
// effect, set ones are not carried over.
func (m *mapper) transfers(n *node) {
	u := n.u
	for i := 1; i <= 4; i++ {
		ts := param(u, fmt.Sprintf("ts%d", i))
		td := param(u, fmt.Sprintf("td%d", i))
		top := param(u, fmt.Sprintf("top%d", i))
		set := ts != nil && Unquote(ts.Value) != ""
		for _, p := range []*Param{ts, td, top} {
			if p == nil {
				continue
			}
			if set {
				m.note(Unmapped, u, n.path, p, "file transfer to the agent is not carried over: copy the file in the command")
			} else {
				m.note(Mapped, u, n.path, p, "no file transfer")
			}
		}
	}
	for _, k := range []string{"soa", "sea"} {
		if p := param(u, k); p != nil && !m.seen[p] {
			m.note(Mapped, u, n.path, p, "no effect without its output file")
		}
	}
}
