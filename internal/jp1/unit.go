package jp1

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// recoveryTypes are the unit types that run only after their predecessor
// ended abnormally.
var recoveryTypes = map[string]bool{"rj": true, "rp": true, "rpj": true, "rn": true, "rjdj": true, "rq": true,
	"rorj": true, "revwj": true, "rflwj": true, "rmlwj": true, "rmqwj": true, "rmswj": true, "rlfwj": true,
	"rntwj": true, "rtmwj": true, "revsj": true, "rmlsj": true, "rmqsj": true, "rmssj": true, "rcmsj": true,
	"rpwlj": true, "rpwrj": true, "rcj": true, "rcpj": true, "rfxj": true, "rhtpj": true, "rm": true, "rr": true}

// mapTree maps the jobnets below a node.
func (m *mapper) mapTree(n *node) {
	switch n.kind {
	case kindGroup:
		for _, c := range n.children {
			m.mapTree(c)
		}
	case kindRoot:
		m.rootJobnet(n)
	}
}

// describe joins a comment and the original name when it changed.
func describe(u *Unit, _ *node, _ string) string {
	var parts []string
	if p := param(u, "cm"); p != nil {
		parts = append(parts, Unquote(p.Value))
	}
	return strings.Join(parts, " — ")
}

func jp1Name(n *node) string { return n.path[strings.LastIndex(n.path, "/")+1:] }

// rootJobnet maps a root jobnet with its schedule.
func (m *mapper) rootJobnet(n *node) {
	u := n.u
	ty := param(u, "ty")
	m.note(Mapped, u, n.path, ty, "root jobnet → %s/%s", n.folder, n.name)
	if name := jp1Name(n); n.name != name {
		m.note(Approximated, u, n.path, nil, "renamed %s (Koyomi names are A-Z a-z 0-9 _ . -); the JP1 name is its title", n.name)
	}
	j := jobnet.Jobnet{Name: n.name, Folder: n.folder, Description: describe(u, n, jp1Name(n))}
	if name := jp1Name(n); n.name != name {
		j.Title = name
	}
	if p := param(u, "cm"); p != nil {
		m.note(Mapped, u, n.path, p, "→ description")
	}
	if n.parent == nil {
		m.ensureFolder(n.folder, "")
		f := m.folders[n.folder]
		if f.Calendar == "" {
			f.Calendar = m.calendarOf(nil).def.Name
		}
	}
	cal := m.calendarOf(n.parent)
	if p := param(u, "jc"); p != nil {
		g := m.byPath[strings.TrimRight(Unquote(p.Value), "/")]
		if g == nil || g.kind != kindGroup {
			m.note(Unmapped, u, n.path, p, "the job group is not in the input; the jobnet plans on its folder's calendar")
		} else {
			cal = m.calendarOf(g)
			j.Calendar = cal.def.Name
			m.note(Mapped, u, n.path, p, "→ calendar %s", cal.def.Name)
		}
	}
	j.Net = m.net(n)
	m.hold(n, &j.Net)
	m.waits(n, n, &j.Net, nil)
	var validTo *calendar.Date
	if p := param(u, "ed"); p != nil {
		d, ok := parseJP1Date(p.Value)
		if !ok {
			m.fail(u, p, "want yyyy/mm/dd")
		} else {
			validTo = &d
			m.note(Mapped, u, n.path, p, "→ valid_to of every rule")
		}
	}
	var exclusive []string
	for _, p := range params(u, "ejn") {
		target := m.resolveJobnet(n, Unquote(p.Value))
		if target == nil {
			m.note(Unmapped, u, n.path, p, "the exclusive jobnet is not in the input")
			continue
		}
		ref := target.folder + "/" + target.name
		if target.folder == n.folder {
			ref = target.name
		}
		exclusive = append(exclusive, ref)
		m.note(Mapped, u, n.path, p, "→ exclusive_with %s on every rule", ref)
	}
	var delays []*ruleParams
	for _, rp := range m.rules(u) {
		for _, k := range []string{"ln", "wt", "wc"} {
			if p := rp.p[k]; p != nil {
				switch {
				case k == "ln":
					m.note(Mapped, u, n.path, p, "a linked rule number has no meaning on a root jobnet")
				case rp.vals[k] == "no":
					m.note(Mapped, u, n.path, p, "no start-condition limit")
				default:
					m.note(Unmapped, u, n.path, p, "start conditions are not carried over, nor their limits")
				}
			}
		}
		if rp.p["sy"] != nil || rp.p["ey"] != nil {
			delays = append(delays, rp)
		}
		if rp.p["sd"] == nil {
			for _, k := range scheduleKeys {
				if p := rp.p[k]; p != nil && !m.seen[p] {
					m.note(Unmapped, u, n.path, p, "rule %d has no sd=, so it yields no runs", rp.n)
				}
			}
			continue
		}
		r, ok := m.rule(u, n.path, rp, cal)
		if !ok {
			continue
		}
		r.ValidTo = minDate(r.ValidTo, validTo)
		r.ExclusiveWith = exclusive
		j.Rules = append(j.Rules, r)
	}
	j.Delay = m.jobnetDelay(n, delays, cal, true)
	if p := param(u, "ms"); p != nil {
		switch p.Value {
		case "sch":
			j.Overlap = jobnet.OverlapSkip
			m.note(Mapped, u, n.path, p, "schedule skip → overlap: skip")
		case "mlt":
			j.Overlap = jobnet.OverlapConcurrent
			m.note(Mapped, u, n.path, p, "multi-schedule → overlap: concurrent")
		default:
			m.fail(u, p, "want sch or mlt")
		}
	}
	m.commonJobnetParams(n)
	m.bundle.Jobnets = append(m.bundle.Jobnets, j)
}

func minDate(a, b *calendar.Date) *calendar.Date {
	switch {
	case a == nil:
		return b
	case b == nil || *a <= *b:
		return a
	}
	return b
}

// commonJobnetParams reports the jobnet parameters Koyomi treats alike for
// root and nested jobnets.
func (m *mapper) commonJobnetParams(n *node) {
	u := n.u
	if p := param(u, "ex"); p != nil {
		m.note(Approximated, u, n.path, p, "the execution agent is not kept: local jobs run on the Koyomi host")
	}
	if p := param(u, "rg"); p != nil {
		m.note(Approximated, u, n.path, p, "Koyomi keeps every generation; the number of logs to keep does not apply")
	}
	if p := param(u, "sz"); p != nil {
		m.note(Approximated, u, n.path, p, "the editor sizes its canvas itself")
	}
}

// resolveJobnet finds a root jobnet named by ejn: a name in the same job
// group, or a full path.
func (m *mapper) resolveJobnet(from *node, name string) *node {
	var t *node
	if strings.HasPrefix(name, "/") {
		t = m.byPath[name]
	} else if from.parent != nil {
		t = m.byPath[from.parent.path+"/"+name]
	} else {
		t = m.byPath["/"+name]
	}
	if t == nil || t.kind != kindRoot {
		return nil
	}
	return t
}

// deadline maps a delay value of sy/ey: hh:mm, or M/U/C and minutes.
func (m *mapper) deadline(n *node, p *Param, v string, c *calInfo, root, end bool) (*jobnet.Deadline, jobnet.Duration) {
	u := n.u
	if t, ok := parseHHMM(v); ok {
		ct, ok := jp1Clock(t, c.baseTime)
		if !ok {
			m.note(Unmapped, u, n.path, p, "%s lies outside the business day", v)
			return nil, 0
		}
		m.note(Mapped, u, n.path, p, "delay at %s", ct)
		return &jobnet.Deadline{At: &ct}, 0
	}
	if len(v) >= 2 && strings.Contains("MUC", v[:1]) {
		mins, err := strconv.Atoi(v[1:])
		if err == nil && mins >= 1 && mins <= 2879 {
			d := jobnet.Duration(time.Duration(mins) * time.Minute)
			switch {
			case v[0] == 'M' || root || v[0] == 'U' && n.parent != nil && n.parent.kind == kindRoot:
				m.note(Mapped, u, n.path, p, "delay %s after the scheduled start", d)
				return &jobnet.Deadline{After: d}, 0
			case v[0] == 'C' && end:
				m.note(Mapped, u, n.path, p, "end delay when running longer than %s", d)
				return nil, d
			default:
				m.note(Approximated, u, n.path, p, "counted from the scheduled start of the generation, not from the %s", map[byte]string{'U': "upper-level jobnet's start", 'C': "unit's own start"}[v[0]])
				return &jobnet.Deadline{After: d}, 0
			}
		}
	}
	m.fail(u, p, "want hh:mm, or M, U or C followed by minutes 1-2879")
	return nil, 0
}

// jobnetDelay maps sy/ey; JP1 sets them per rule, Koyomi per jobnet.
func (m *mapper) jobnetDelay(n *node, rps []*ruleParams, c *calInfo, root bool) *jobnet.DelayMonitor {
	if len(rps) == 0 {
		return nil
	}
	d := &jobnet.DelayMonitor{}
	first := rps[0]
	for _, rp := range rps {
		for _, k := range []string{"sy", "ey"} {
			p := rp.p[k]
			if p == nil {
				continue
			}
			if rp != first {
				if first.vals[k] == rp.vals[k] {
					m.note(Mapped, n.u, n.path, p, "same as rule %d", first.n)
				} else {
					m.note(Approximated, n.u, n.path, p, "Koyomi monitors delays per jobnet: rule %d's value applies to every rule", first.n)
				}
				continue
			}
			dl, max := m.deadline(n, p, rp.vals[k], c, root, k == "ey")
			if k == "sy" {
				d.Start = dl
			} else if dl != nil {
				d.End = dl
			} else {
				d.MaxDuration = max
			}
		}
	}
	if d.Start == nil && d.End == nil && d.MaxDuration == 0 {
		return nil
	}
	return d
}

// hold maps ha=y of a root jobnet: its entry units start held.
func (m *mapper) hold(n *node, net *jobnet.Net) {
	p := param(n.u, "ha")
	if p == nil {
		return
	}
	switch p.Value {
	case "n":
		m.note(Mapped, n.u, n.path, p, "not held")
	case "y":
		for _, name := range entries(net) {
			for i := range net.Units {
				if net.Units[i].Name == name {
					net.Units[i].Hold = true
				}
			}
		}
		m.note(Approximated, n.u, n.path, p, "the units that start the jobnet are held in every generation (release them to run it)")
	default:
		m.note(Unmapped, n.u, n.path, p, "holding depending on the previous generation's result is not carried over")
	}
}

// entries returns the units without incoming edges.
func entries(net *jobnet.Net) []string {
	has := map[string]bool{}
	for _, e := range net.Edges {
		has[e.To] = true
	}
	var out []string
	for _, u := range net.Units {
		if !has[u.Name] {
			out = append(out, u.Name)
		}
	}
	return out
}

// waits maps eun (units whose end is waited for) of owner into wait units
// in net, before target (or before the entry units when target is nil).
func (m *mapper) waits(owner, self *node, net *jobnet.Net, target *string) {
	u := owner.u
	eun := params(u, "eun")
	if len(eun) == 0 {
		return
	}
	if p := param(u, "mm"); p != nil {
		if p.Value == "or" {
			m.note(Unmapped, u, owner.path, p, "Koyomi waits for all of them (and)")
		} else {
			m.note(Mapped, u, owner.path, p, "waits for all")
		}
	}
	taken := map[string]bool{}
	for _, x := range net.Units {
		taken[x.Name] = true
	}
	var tos []string
	if target != nil {
		tos = []string{*target}
	} else {
		tos = entries(net)
	}
	for _, p := range eun {
		t := m.byPath[strings.TrimRight(Unquote(p.Value), "/")]
		if t == nil || t.kind == kindGroup {
			m.note(Unmapped, u, owner.path, p, "the unit waited for is not in the input")
			continue
		}
		rootNode := t
		if t.kind == kindInside {
			rootNode = t.root
		}
		selfRoot := self
		if self.kind == kindInside {
			selfRoot = self.root
		}
		if rootNode == selfRoot {
			m.note(Unmapped, u, owner.path, p, "a wait on a unit of the same jobnet: draw a relation instead")
			continue
		}
		name := uniqueName("wait-"+t.name, taken)
		w := jobnet.Wait{Jobnet: rootNode.folder + "/" + rootNode.name, Unit: t.upath}
		net.Units = append(net.Units, jobnet.Unit{Name: name, Kind: jobnet.UnitWait, Wait: &w})
		for _, to := range tos {
			net.Edges = append(net.Edges, jobnet.Edge{From: name, To: to})
		}
		m.note(Mapped, u, owner.path, p, "→ wait unit %s (same business date)", name)
	}
}

// net maps the units and relations inside a jobnet node.
func (m *mapper) net(n *node) jobnet.Net {
	var net jobnet.Net
	types := map[string]string{} // Koyomi name → JP1 type
	byJP1 := map[string]*node{}
	for _, c := range n.children {
		byJP1[jp1Name(c)] = c
		if c.u.Type() == "rc" {
			m.note(Unmapped, c.u, c.path, param(c.u, "ty"), "start conditions are not carried over: the jobnet starts by its schedule only")
			continue
		}
		unit := m.unit(c)
		types[c.name] = c.u.Type()
		net.Units = append(net.Units, unit)
	}
	pos := map[string]*jobnet.Position{}
	for _, p := range params(n.u, "el") {
		f := strings.Split(p.Value, ",")
		if len(f) != 3 {
			m.fail(n.u, p, "want unit-name,unit-type,+H +V")
			continue
		}
		c := byJP1[strings.TrimSpace(f[0])]
		var x, y int
		if _, err := fmt.Sscanf(strings.TrimSpace(f[2]), "+%d +%d", &x, &y); err != nil || c == nil || c.u.Type() == "rc" {
			m.note(Approximated, n.u, n.path, p, "icon position not kept")
			continue
		}
		pos[c.name] = &jobnet.Position{X: x, Y: y}
		m.note(Mapped, n.u, n.path, p, "→ position of %s", c.name)
	}
	for i := range net.Units {
		if p := pos[net.Units[i].Name]; p != nil {
			net.Units[i].Position = p
		}
	}
	for _, p := range params(n.u, "ar") {
		m.relation(n, p, byJP1, types, &net)
	}
	m.checkJudgments(n, &net, types)
	for _, c := range n.children {
		name := c.name
		m.waits(c, c, &net, &name)
	}
	return net
}

// relation maps ar=(f=from,t=to[,seq|con]).
func (m *mapper) relation(n *node, p *Param, byJP1 map[string]*node, types map[string]string, net *jobnet.Net) {
	v := strings.TrimSpace(p.Value)
	in, ok1 := strings.CutPrefix(v, "(")
	in, ok2 := strings.CutSuffix(in, ")")
	var from, to, rel string
	for _, f := range strings.Split(in, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "f":
			from = val
		case "t":
			to = val
		case "seq", "con", "r":
			rel = k
		}
	}
	if !ok1 || !ok2 || from == "" || to == "" {
		m.fail(n.u, p, "want (f=preceding-unit,t=succeeding-unit[,seq|con])")
		return
	}
	fn, tn := byJP1[from], byJP1[to]
	if fn == nil || tn == nil {
		missing := from
		if fn != nil {
			missing = to
		}
		m.fail(n.u, p, "no unit %s in jobnet %s", missing, n.path)
		return
	}
	e := jobnet.Edge{From: fn.name, To: tn.name}
	fty := types[fn.name]
	isJudgment := fty == "jdj" || fty == "rjdj"
	switch {
	case isJudgment && rel == "con":
		e.Kind = jobnet.EdgeTrue
		if neg := param(fn.u, "ej"); neg != nil && neg.Value == "nf" {
			e.Kind = jobnet.EdgeFalse
		}
		m.note(Mapped, n.u, n.path, p, "→ %s edge out of judgment %s", e.Kind, fn.name)
	case isJudgment:
		m.note(Unmapped, n.u, n.path, p, "an ordinary relation out of a judgment job: Koyomi judgments have only true/false edges; the relation is not carried over")
		return
	case rel == "con":
		m.fail(n.u, p, "con (conditional) relations leave judgment jobs only")
		return
	case recoveryTypes[types[tn.name]]:
		e.Kind = jobnet.EdgeRecovery
		m.note(Mapped, n.u, n.path, p, "→ recovery edge (%s runs only after %s ended abnormally)", tn.name, fn.name)
	case rel == "r":
		e.Kind = jobnet.EdgeRecovery
		m.note(Approximated, n.u, n.path, p, "relation type r is not in the manual's grammar; read as a recovery edge")
	default:
		m.note(Mapped, n.u, n.path, p, "→ edge %s → %s", fn.name, tn.name)
	}
	net.Edges = append(net.Edges, e)
}

// checkJudgments turns exit-code judgments that do not follow exactly one
// job into held placeholders, since Koyomi reads the exit code of that job.
func (m *mapper) checkJudgments(n *node, net *jobnet.Net, types map[string]string) {
	for i := range net.Units {
		x := &net.Units[i]
		if x.Kind != jobnet.UnitJudgment || x.Judgment.Kind != jobnet.JudgeExitCode {
			continue
		}
		var in []string
		for _, e := range net.Edges {
			if e.To == x.Name {
				in = append(in, e.From)
			}
		}
		if len(in) == 1 {
			for _, y := range net.Units {
				if y.Name == in[0] && y.Kind == jobnet.UnitJob && y.Job.Type == jobnet.JobLocal {
					goto ok
				}
			}
		}
		for _, c := range n.children {
			if c.name == x.Name {
				m.note(Unmapped, c.u, c.path, param(c.u, "ty"), "a return-code judgment needs exactly one preceding job; replaced by a held placeholder")
			}
		}
		*x = placeholder(x.Name, x.Description, "jdj")
		for k := range net.Edges {
			if net.Edges[k].From == x.Name {
				net.Edges[k].Kind = ""
			}
		}
	ok:
	}
}

// placeholder is a held noop job standing where a JP1 unit has no Koyomi
// equivalent, so the jobnet keeps its shape and stops there until an
// operator releases it.
func placeholder(name, desc, ty string) jobnet.Unit {
	d := "placeholder for JP1 unit type " + ty + " (not carried over)"
	if desc != "" {
		d = desc + " — " + d
	}
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Description: d, Hold: true, Job: &jobnet.Job{Type: jobnet.JobNoop}}
}
