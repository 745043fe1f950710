package jobnet

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// MaxNameLen is the longest name of a unit, jobnet, folder, calendar or pool.
const MaxNameLen = 64

// MaxRetryCount is the most retries a job may have.
const MaxRetryCount = 100

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	familyRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	taskDefARN = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]{1,255}(:[1-9][0-9]*)?$`)
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// validName reports whether s is a valid unit, jobnet, folder, calendar or
// pool name: 1-64 of A-Z a-z 0-9 _ . - ("/" separates folder and jobnet, and
// nested unit paths). "." and ".." are not names.
func validName(s string) bool {
	return nameRE.MatchString(s) && s != "." && s != ".."
}

const nameRule = "names are 1-64 characters of A-Z a-z 0-9 _ . -"

// Known names things that exist outside the bundle being validated, usually
// in the database. Names defined in the bundle are always known.
type Known struct {
	// Folders maps folder names to their default calendar ("" for none).
	Folders map[string]string
	// Calendars, Pools, Jobnets (folder/name) and Connections are names.
	Calendars   []string
	Pools       []string
	Jobnets     []string
	Connections []string
	// HolidaySets are ids beyond the built-in ones (calendar.LookupSet).
	HolidaySets []string
	// CheckConnections turns on the check that ecs/eks connections are
	// known; off, connection names are not checked (they live only in the
	// database, which plain file validation does not see).
	CheckConnections bool
}

// validator holds the name tables of one Validate call.
type validator struct {
	ps          fault.Problems
	folders     map[string]string // name → default calendar
	calendars   map[string]bool
	pools       map[string]bool
	jobnets     map[string]*Jobnet // nil value: known outside the bundle
	connections map[string]bool
	connKinds   map[string]ConnectionKind // connections defined in the bundle
	holidaySets map[string]bool
	known       Known
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// key returns `name` for a path segment, or the index when name is empty.
func key(name string, i int) string {
	if name == "" {
		return strconv.Itoa(i)
	}
	return name
}

// Validate checks every definition of b against the others and known, and
// returns every problem at once, sorted by path. Paths name things by name
// where they have one (`jobnets[sales/nightly].units[load].job.local.command`,
// `calendars[jp-company].overrides[2]`) and by index otherwise
// (`jobnets[sales/nightly].edges[3]`); nested units are under `.net`.
func Validate(b *Bundle, known Known) fault.Problems {
	v := &validator{
		folders:     map[string]string{},
		calendars:   set(known.Calendars),
		pools:       set(known.Pools),
		jobnets:     map[string]*Jobnet{},
		connections: set(known.Connections),
		connKinds:   map[string]ConnectionKind{},
		holidaySets: set(known.HolidaySets),
		known:       known,
	}
	for name, cal := range known.Folders {
		v.folders[name] = cal
	}
	for _, n := range known.Jobnets {
		v.jobnets[n] = nil
	}
	// Names first, so references can be checked regardless of order.
	seen := map[string]int{}
	for i, c := range b.Calendars {
		p := "calendars[" + key(c.Name, i) + "]"
		v.checkName(p, "calendar", c.Name, seen)
		v.calendars[c.Name] = true
	}
	clear(seen)
	for i, pl := range b.Pools {
		p := "pools[" + key(pl.Name, i) + "]"
		v.checkName(p, "pool", pl.Name, seen)
		v.pools[pl.Name] = true
	}
	clear(seen)
	for i, c := range b.Connections {
		p := "connections[" + key(c.Name, i) + "]"
		v.checkName(p, "connection", c.Name, seen)
		v.connections[c.Name] = true
		v.connKinds[c.Name] = c.Kind
	}
	clear(seen)
	for i, f := range b.Folders {
		p := "folders[" + key(f.Name, i) + "]"
		v.checkName(p, "folder", f.Name, seen)
		v.folders[f.Name] = f.Calendar
	}
	clear(seen)
	for i := range b.Jobnets {
		j := &b.Jobnets[i]
		v.jobnets[j.Path()] = j
		p := jobnetPath(j, i)
		if prev, dup := seen[j.Path()]; dup && j.Name != "" {
			v.ps.Add(p, "duplicate jobnet %q (also jobnets[%d])", j.Path(), prev)
		} else {
			seen[j.Path()] = i
		}
	}

	for i, c := range b.Calendars {
		v.calendar("calendars["+key(c.Name, i)+"]", c, b)
	}
	for i, pl := range b.Pools {
		if pl.Slots < 1 {
			v.ps.Add("pools["+key(pl.Name, i)+"].slots", "%d: a pool needs at least 1 slot", pl.Slots)
		}
	}
	for i, c := range b.Connections {
		v.connectionDef("connections["+key(c.Name, i)+"]", c)
	}
	for i, f := range b.Folders {
		if f.Calendar != "" && !v.calendars[f.Calendar] {
			v.ps.Add("folders["+key(f.Name, i)+"].calendar", "unknown calendar %q", f.Calendar)
		}
	}
	for i := range b.Jobnets {
		v.jobnet(jobnetPath(&b.Jobnets[i], i), &b.Jobnets[i])
	}
	return v.ps.Sorted()
}

func jobnetPath(j *Jobnet, i int) string {
	if j.Name == "" || j.Folder == "" {
		return fmt.Sprintf("jobnets[%d]", i)
	}
	return "jobnets[" + j.Path() + "]"
}

func (v *validator) checkName(p, what, name string, seen map[string]int) {
	switch {
	case name == "":
		v.ps.Add(p+".name", "required")
		return
	case !validName(name):
		v.ps.Add(p+".name", "invalid %s name %q: %s", what, name, nameRule)
	}
	if _, dup := seen[name]; dup {
		v.ps.Add(p, "duplicate %s %q", what, name)
		return
	}
	seen[name] = len(seen)
}

func (v *validator) calendar(p string, c calendar.Definition, b *Bundle) {
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			v.ps.Add(p+".time_zone", "unknown time zone %q: want an IANA name such as Asia/Tokyo", c.TimeZone)
		}
	}
	if c.BaseTime < 0 || c.BaseTime >= 24*60 {
		v.ps.Add(p+".base_time", "%s: must be within 00:00-23:59", c.BaseTime)
	}
	if c.BaseDay < 0 || c.BaseDay > 28 {
		v.ps.Add(p+".base_day", "%d: must be 1-28", c.BaseDay)
	}
	if c.MonthNaming != "" && c.MonthNaming != calendar.MonthNamingStart && c.MonthNaming != calendar.MonthNamingEnd {
		v.ps.Add(p+".month_naming", "%q: must be start or end", c.MonthNaming)
	}
	for i, w := range c.ClosedWeekdays {
		if slices.Index(c.ClosedWeekdays, w) < i {
			v.ps.Add(fmt.Sprintf("%s.closed_weekdays[%d]", p, i), "duplicate weekday %s", w)
		}
	}
	for i, id := range c.HolidaySets {
		if _, ok := calendar.LookupSet(id); !ok && !v.holidaySets[id] {
			v.ps.Add(fmt.Sprintf("%s.holiday_sets[%d]", p, i), "unknown holiday set %q", id)
		}
	}
	first := map[calendar.Date]int{}
	for i, o := range c.Overrides {
		if j, dup := first[o.Date]; dup {
			v.ps.Add(fmt.Sprintf("%s.overrides[%d]", p, i), "duplicate override for %s (also overrides[%d])", o.Date, j)
			continue
		}
		first[o.Date] = i
	}
	if c.Parent != "" {
		if !v.calendars[c.Parent] {
			v.ps.Add(p+".parent", "unknown calendar %q", c.Parent)
		} else if chain := parentCycle(c.Name, b); chain != nil {
			v.ps.Add(p+".parent", "parent cycle: %s", strings.Join(chain, " → "))
		}
	}
}

// parentCycle returns the chain name → parent → … → name when the parents
// defined in b lead back to name.
func parentCycle(name string, b *Bundle) []string {
	parent := map[string]string{}
	for _, c := range b.Calendars {
		if _, dup := parent[c.Name]; !dup {
			parent[c.Name] = c.Parent
		}
	}
	chain := []string{name}
	for cur := parent[name]; cur != ""; cur = parent[cur] {
		chain = append(chain, cur)
		if cur == name {
			return chain
		}
		if len(chain) > len(parent)+1 {
			return nil // a cycle further up; reported on its own calendars
		}
	}
	return nil
}

func (v *validator) jobnet(p string, j *Jobnet) {
	switch {
	case j.Name == "":
		v.ps.Add(p+".name", "required")
	case !validName(j.Name):
		v.ps.Add(p+".name", "invalid jobnet name %q: %s", j.Name, nameRule)
	}
	v.title(p, j.Title)
	switch {
	case j.Folder == "":
		v.ps.Add(p+".folder", "required")
	case !validName(j.Folder):
		v.ps.Add(p+".folder", "invalid folder name %q: %s", j.Folder, nameRule)
	}
	folderCal, folderKnown := v.folders[j.Folder]
	if j.Folder != "" && !folderKnown {
		v.ps.Add(p+".folder", "unknown folder %q", j.Folder)
	}
	switch {
	case j.Calendar != "":
		if !v.calendars[j.Calendar] {
			v.ps.Add(p+".calendar", "unknown calendar %q", j.Calendar)
		}
	case folderKnown && folderCal == "":
		v.ps.Add(p+".calendar", "no calendar: set one here or on folder %q", j.Folder)
	}
	v.ps = append(v.ps, ValidateRules(j.Rules).Prefix(p)...)
	for i, r := range j.Rules {
		for k, other := range r.ExclusiveWith {
			if _, ok := v.resolveJobnet(j.Folder, other); !ok {
				v.ps.Add(fmt.Sprintf("%s.schedule[%d].exclusive_with[%d]", p, i, k), "unknown jobnet %q", other)
			}
		}
	}
	switch j.Overlap {
	case "", OverlapConcurrent, OverlapWait, OverlapSkip:
	default:
		v.ps.Add(p+".overlap", "%q: must be concurrent, wait or skip", j.Overlap)
	}
	switch j.CatchUp {
	case "", CatchUpAll, CatchUpLatest, CatchUpSkip:
	default:
		v.ps.Add(p+".catch_up", "%q: must be all, latest or skip", j.CatchUp)
	}
	if j.MaxConcurrentJobs < 0 {
		v.ps.Add(p+".max_concurrent_jobs", "%d: must not be negative (0: no limit)", j.MaxConcurrentJobs)
	}
	for _, k := range sortedKeys(j.Params) {
		if !envNameRE.MatchString(k) {
			v.ps.Add(p+".params."+k, "invalid parameter name: want letters, digits and _, not starting with a digit")
		}
	}
	v.delay(p+".delay", j.Delay)
	v.due(p+".deadline", j.Deadline)
	for i, r := range j.Rules {
		v.due(fmt.Sprintf("%s.schedule[%d].deadline", p, i), r.Deadline)
	}
	v.net(p, &j.Net, j)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

// resolveJobnet finds a jobnet reference: folder/name, or name in folder.
func (v *validator) resolveJobnet(folder, ref string) (*Jobnet, bool) {
	if !strings.Contains(ref, "/") {
		ref = folder + "/" + ref
	}
	j, ok := v.jobnets[ref]
	return j, ok
}

var edgeKinds = []EdgeKind{EdgeNormal, EdgeRecovery, EdgeTrue, EdgeFalse}

func (v *validator) net(p string, n *Net, root *Jobnet) {
	if len(n.Units) == 0 {
		v.ps.Add(p+".units", "a net needs at least one unit")
	}
	units := make(map[string]*Unit, len(n.Units))
	for i := range n.Units {
		u := &n.Units[i]
		up := p + ".units[" + key(u.Name, i) + "]"
		switch {
		case u.Name == "":
			v.ps.Add(up+".name", "required")
		case !validName(u.Name):
			v.ps.Add(up+".name", "invalid unit name %q: %s", u.Name, nameRule)
		}
		v.title(up, u.Title)
		if _, dup := units[u.Name]; dup && u.Name != "" {
			v.ps.Add(up, "duplicate unit %q", u.Name)
		} else {
			units[u.Name] = u
		}
		v.unit(up, u, root)
	}
	type pair struct{ from, to string }
	edges := map[pair]int{}
	incoming := map[string][]Edge{}
	for i, e := range n.Edges {
		ep := fmt.Sprintf("%s.edges[%d]", p, i)
		from, okf := units[e.From]
		_, okt := units[e.To]
		if !okf {
			v.ps.Add(ep+".from", "unknown unit %q", e.From)
		}
		if !okt {
			v.ps.Add(ep+".to", "unknown unit %q", e.To)
		}
		if e.From == e.To && okf {
			v.ps.Add(ep, "edge from %q to itself", e.From)
		}
		if j, dup := edges[pair{e.From, e.To}]; dup {
			v.ps.Add(ep, "duplicate edge %s → %s (also edges[%d])", e.From, e.To, j)
		} else {
			edges[pair{e.From, e.To}] = i
		}
		k := e.EffectiveKind()
		if !slices.Contains(edgeKinds, k) {
			v.ps.Add(ep+".kind", "%q: must be normal, recovery, true or false", e.Kind)
			continue
		}
		if okf && okt {
			incoming[e.To] = append(incoming[e.To], e)
		}
		if !okf {
			continue
		}
		judgment := from.Kind == UnitJudgment
		switch {
		case (k == EdgeTrue || k == EdgeFalse) && !judgment:
			v.ps.Add(ep+".kind", "%s edge must leave a judgment unit; %q is a %s unit", k, e.From, from.Kind)
		case judgment && k != EdgeTrue && k != EdgeFalse:
			v.ps.Add(ep+".kind", "%s edge out of judgment %q: judgment edges are true or false", k, e.From)
		}
	}
	if _, err := Topo(n); err != nil {
		v.ps.Add(p+".edges", "%v", err)
	}
	for i := range n.Units {
		u := &n.Units[i]
		if u.Kind != UnitJudgment || u.Judgment == nil || u.Judgment.Kind != JudgeExitCode {
			continue
		}
		in := incoming[u.Name]
		up := p + ".units[" + key(u.Name, i) + "]"
		if len(in) != 1 || units[in[0].From].Kind != UnitJob {
			v.ps.Add(up+".judgment", "exit_code judgment needs exactly one incoming edge, from a job unit")
		}
	}
}

var unitKinds = []UnitKind{UnitJob, UnitJobnet, UnitJudgment, UnitWait}

func (v *validator) unit(p string, u *Unit, root *Jobnet) {
	payloads := []struct {
		field string
		kind  UnitKind
		set   bool
	}{
		{"job", UnitJob, u.Job != nil},
		{"net", UnitJobnet, u.Net != nil},
		{"judgment", UnitJudgment, u.Judgment != nil},
		{"wait", UnitWait, u.Wait != nil},
	}
	switch {
	case u.Kind == "":
		v.ps.Add(p+".kind", "required: job, jobnet, judgment or wait")
	case !slices.Contains(unitKinds, u.Kind):
		v.ps.Add(p+".kind", "%q: must be job, jobnet, judgment or wait", u.Kind)
	default:
		for _, pl := range payloads {
			if pl.kind == u.Kind && !pl.set {
				v.ps.Add(p+"."+pl.field, "required for a %s unit", u.Kind)
			}
			if pl.kind != u.Kind && pl.set {
				v.ps.Add(p+"."+pl.field, "not allowed on a %s unit", u.Kind)
			}
		}
	}
	if u.Delay != nil && u.Kind != UnitJob && u.Kind != UnitJobnet {
		v.ps.Add(p+".delay", "delay monitoring applies to job and jobnet units")
	}
	v.delay(p+".delay", u.Delay)
	if u.Deadline != nil && u.Kind != UnitJob && u.Kind != UnitJobnet {
		v.ps.Add(p+".deadline", "a deadline applies to job and jobnet units")
	}
	v.due(p+".deadline", u.Deadline)
	if u.Job != nil {
		v.job(p+".job", u.Job)
	}
	if u.Net != nil {
		v.net(p+".net", u.Net, root)
	}
	if u.Judgment != nil {
		v.judgment(p+".judgment", u.Judgment)
	}
	if u.Wait != nil {
		v.wait(p+".wait", u.Wait, root)
	}
}

func (v *validator) delay(p string, d *DelayMonitor) {
	if d == nil {
		return
	}
	v.deadline(p+".start", d.Start)
	v.deadline(p+".end", d.End)
	if d.Start != nil && d.End != nil {
		s, e := d.Start, d.End
		if (s.At != nil && e.At != nil && *e.At < *s.At) || (s.At == nil && e.At == nil && e.After < s.After) {
			v.ps.Add(p+".end", "end deadline is earlier than the start deadline")
		}
	}
}

// due checks a deadline built in Go (the text form cannot express a bad one).
func (v *validator) due(p string, d *Due) {
	switch {
	case d == nil:
	case d.At != nil && d.After != 0:
		v.ps.Add(p, "set either a business-day time or a duration after the start, not both")
	case d.At != nil && (*d.At < 0 || *d.At > calendar.MaxClockTime):
		v.ps.Add(p, "%d minutes: a business-day time must be within 00:00-47:59", int(*d.At))
	case d.At == nil && d.After <= 0:
		v.ps.Add(p, "set a business-day time (e.g. 30:00) or a duration after the start (e.g. +3h)")
	}
}

func (v *validator) deadline(p string, d *Deadline) {
	if d == nil {
		return
	}
	switch {
	case d.At != nil && d.After != 0:
		v.ps.Add(p, "set either at (a business-day time) or after (a duration), not both")
	case d.At == nil && d.After == 0:
		v.ps.Add(p, "set at (a business-day time, 00:00-47:59) or after (a duration after the scheduled start)")
	case d.At != nil && (*d.At < 0 || *d.At > calendar.MaxClockTime):
		v.ps.Add(p+".at", "%s: must be within 00:00-47:59", *d.At)
	}
}

var (
	jobTypes = []JobType{JobLocal, JobECS, JobEKS, JobNoop}
	outcomes = []Outcome{OutcomeAbnormal, OutcomeFailedToStart, OutcomeUnknown, OutcomeTimeout}
)

func (v *validator) job(p string, j *Job) {
	specs := []struct {
		field string
		typ   JobType
		set   bool
	}{
		{"local", JobLocal, j.Local != nil},
		{"ecs", JobECS, j.ECS != nil},
		{"eks", JobEKS, j.EKS != nil},
	}
	switch {
	case j.Type == "":
		v.ps.Add(p+".type", "required: local, ecs, eks or noop")
	case !slices.Contains(jobTypes, j.Type):
		v.ps.Add(p+".type", "%q: must be local, ecs, eks or noop", j.Type)
	default:
		for _, s := range specs {
			if s.typ == j.Type && !s.set {
				v.ps.Add(p+"."+s.field, "required for a %s job", j.Type)
			}
			if s.typ != j.Type && s.set {
				v.ps.Add(p+"."+s.field, "not allowed on a %s job", j.Type)
			}
		}
	}
	if j.Local != nil && strings.TrimSpace(j.Local.Command) == "" {
		v.ps.Add(p+".local.command", "required")
	}
	if j.ECS != nil {
		v.ecs(p+".ecs", j.ECS, j.Env)
	}
	if j.EKS != nil {
		v.eks(p+".eks", j.EKS, j.Env)
	}
	for _, k := range sortedKeys(j.Env) {
		switch {
		case !envNameRE.MatchString(k):
			v.ps.Add(p+".env."+k, "invalid variable name: want letters, digits and _, not starting with a digit")
		case strings.HasPrefix(k, "KOYOMI_"):
			v.ps.Add(p+".env."+k, "KOYOMI_ variables are set by Koyomi")
		}
	}
	switch e := j.End; e.Mode {
	case "", EndByThresholds:
		if e.WarningThreshold < 0 || e.AbnormalThreshold < 0 {
			v.ps.Add(p+".end", "thresholds must not be negative")
		} else if e.WarningThreshold > e.AbnormalThreshold {
			v.ps.Add(p+".end", "warning threshold %d is above abnormal threshold %d", e.WarningThreshold, e.AbnormalThreshold)
		}
	case EndAlwaysNormal:
		if e.WarningThreshold != 0 || e.AbnormalThreshold != 0 {
			v.ps.Add(p+".end", "thresholds apply only to mode thresholds")
		}
	default:
		v.ps.Add(p+".end.mode", "%q: must be thresholds or always_normal", e.Mode)
	}
	if r := j.Retry; r != nil {
		if r.Count < 0 || r.Count > MaxRetryCount {
			v.ps.Add(p+".retry.count", "%d: must be 0-%d", r.Count, MaxRetryCount)
		}
		for i, o := range r.On {
			op := fmt.Sprintf("%s.retry.on[%d]", p, i)
			switch {
			case !slices.Contains(outcomes, o):
				v.ps.Add(op, "%q: must be abnormal, failed_to_start, unknown or timeout", o)
			case slices.Index(r.On, o) < i:
				v.ps.Add(op, "duplicate outcome %q", o)
			}
		}
	}
	if t := j.Timeout; t != nil {
		if t.After <= 0 {
			v.ps.Add(p+".timeout.after", "required: a duration such as 30m")
		}
		switch t.EndAs {
		case "", "abnormal", "warning", "normal":
		default:
			v.ps.Add(p+".timeout.end_as", "%q: must be abnormal, warning or normal", t.EndAs)
		}
	}
	if j.Pool != "" && !v.pools[j.Pool] {
		v.ps.Add(p+".pool", "unknown pool %q", j.Pool)
	}
}

func (v *validator) connection(p, name string, want ConnectionKind) {
	if name == "" {
		return
	}
	if k, ok := v.connKinds[name]; ok && k != want && k != "" {
		v.ps.Add(p, "connection %q is of type %s; this %s job needs a connection of type %s", name, k, want.JobType(), want)
		return
	}
	if v.known.CheckConnections && !v.connections[name] {
		v.ps.Add(p, "unknown connection %q", name)
	}
}

func (v *validator) ecs(p string, s *ECSSpec, env map[string]string) {
	v.connection(p+".connection", s.Connection, ConnectionAWS)
	if s.Cluster == "" {
		v.ps.Add(p+".cluster", "required")
	}
	switch td := s.TaskDefinition; {
	case td == "":
		v.ps.Add(p+".task_definition", "required")
	case strings.HasPrefix(td, "arn:"):
		if !taskDefARN.MatchString(td) {
			v.ps.Add(p+".task_definition", "invalid task definition ARN %q", td)
		}
	default:
		family, rev, hasRev := strings.Cut(td, ":")
		n, err := strconv.Atoi(rev)
		if !familyRE.MatchString(family) || (hasRev && (err != nil || n < 1 || strconv.Itoa(n) != rev)) {
			v.ps.Add(p+".task_definition", "invalid task definition %q: want family or family:revision", td)
		}
	}
	switch s.LaunchType {
	case "", "FARGATE", "EC2", "EXTERNAL":
	default:
		v.ps.Add(p+".launch_type", "%q: must be FARGATE, EC2 or EXTERNAL", s.LaunchType)
	}
	if s.LaunchType != "" && len(s.CapacityProviders) > 0 {
		v.ps.Add(p, "launch_type and capacity_providers are exclusive")
	}
	for i, c := range s.CapacityProviders {
		cp := fmt.Sprintf("%s.capacity_providers[%d]", p, i)
		if c.Provider == "" {
			v.ps.Add(cp+".provider", "required")
		}
		if c.Weight < 0 || c.Weight > 1000 {
			v.ps.Add(cp+".weight", "%d: must be 0-1000", c.Weight)
		}
		if c.Base < 0 || c.Base > 100000 {
			v.ps.Add(cp+".base", "%d: must be 0-100000", c.Base)
		}
	}
	if s.CPU < 0 {
		v.ps.Add(p+".cpu", "%d: must not be negative", s.CPU)
	}
	if s.Memory < 0 {
		v.ps.Add(p+".memory", "%d: must not be negative", s.Memory)
	}
	for _, pr := range CheckTaskSize(s) {
		v.ps.Add(p+"."+pr.Path, "%s", pr.Message)
	}
	for _, pr := range CheckSecrets(s.Secrets, env) {
		v.ps.Add(p+"."+pr.Path, "%s", pr.Message)
	}
	if s.CapacityRetries < 0 || s.CapacityRetries > 1000 {
		v.ps.Add(p+".capacity_retries", "%d: must be 0-1000", s.CapacityRetries)
	}
	if s.CapacityRetryInterval < 0 || (s.CapacityRetryInterval > 0 && s.CapacityRetryInterval.D() < time.Second) {
		v.ps.Add(p+".capacity_retry_interval", "%s: must be at least 1s", s.CapacityRetryInterval)
	}
}

func (v *validator) eks(p string, s *EKSSpec, env map[string]string) {
	v.kubeRefs(p, s, env)
	v.connection(p+".connection", s.Connection, ConnectionKubernetes)
	if s.Image == "" {
		v.ps.Add(p+".image", "required")
	}
	if s.Namespace != "" && !dnsLabelRE.MatchString(s.Namespace) {
		v.ps.Add(p+".namespace", "invalid namespace %q: want a DNS label (a-z 0-9 -)", s.Namespace)
	}
	switch s.Mode {
	case "", "pod", "job":
	default:
		v.ps.Add(p+".mode", "%q: must be pod or job", s.Mode)
	}
	switch s.Cleanup {
	case "", "delete", "keep":
	default:
		v.ps.Add(p+".cleanup", "%q: must be delete or keep", s.Cleanup)
	}
	for i, t := range s.Tolerations {
		tp := fmt.Sprintf("%s.tolerations[%d]", p, i)
		switch t.Operator {
		case "", "Equal", "Exists":
		default:
			v.ps.Add(tp+".operator", "%q: must be Equal or Exists", t.Operator)
		}
		switch t.Effect {
		case "", "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			v.ps.Add(tp+".effect", "%q: must be NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
		}
	}
}

var judgmentOps = []string{"eq", "ne", "lt", "le", "gt", "ge"}

func (v *validator) judgment(p string, j *Judgment) {
	switch j.Kind {
	case JudgeExitCode:
		if _, err := strconv.Atoi(j.Value); err != nil {
			v.ps.Add(p+".value", "%q: exit_code compares with an integer", j.Value)
		}
	case JudgeFileExists:
		if j.Path == "" {
			v.ps.Add(p+".path", "required for file_exists")
		}
	case JudgeVariable:
		if j.Variable == "" {
			v.ps.Add(p+".variable", "required for variable")
		}
	case "":
		v.ps.Add(p+".kind", "required: exit_code, file_exists or variable")
		return
	default:
		v.ps.Add(p+".kind", "%q: must be exit_code, file_exists or variable", j.Kind)
		return
	}
	if j.Kind == JudgeFileExists {
		if j.Op != "" {
			v.ps.Add(p+".op", "not used by file_exists")
		}
		return
	}
	if !slices.Contains(judgmentOps, j.Op) {
		v.ps.Add(p+".op", "%q: must be eq, ne, lt, le, gt or ge", j.Op)
	}
	if j.Kind == JudgeVariable && j.Op != "eq" && j.Op != "ne" && slices.Contains(judgmentOps, j.Op) {
		if _, err := strconv.Atoi(j.Value); err != nil {
			v.ps.Add(p+".value", "%q: %s compares integers", j.Value, j.Op)
		}
	}
}

func (v *validator) wait(p string, w *Wait, root *Jobnet) {
	if w.Jobnet == "" {
		v.ps.Add(p+".jobnet", "required")
		return
	}
	other, ok := v.resolveJobnet(root.Folder, w.Jobnet)
	if !ok {
		v.ps.Add(p+".jobnet", "unknown jobnet %q", w.Jobnet)
		return
	}
	if other == root {
		v.ps.Add(p+".jobnet", "waits for its own jobnet; use an edge instead")
		return
	}
	if other != nil && w.Unit != "" {
		if _, err := FindUnit(&other.Net, w.Unit); err != nil {
			v.ps.Add(p+".unit", "jobnet %q has no unit %q", other.Path(), w.Unit)
		}
	}
}

// TitleMax is the longest title, in characters.
const TitleMax = 128

// title checks a display name: any characters but control characters, at
// most TitleMax of them.
func (v *validator) title(p, t string) {
	switch {
	case utf8.RuneCountInString(t) > TitleMax:
		v.ps.Add(p+".title", "longer than %d characters", TitleMax)
	case strings.IndexFunc(t, unicode.IsControl) >= 0:
		v.ps.Add(p+".title", "must not contain control characters (line breaks, tabs)")
	case t != strings.TrimSpace(t):
		v.ps.Add(p+".title", "must not start or end with spaces")
	}
}
