package jp1

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TimeZoneDefault is the zone of imported calendars: JP1/AJS3 schedules in
// the local time of its manager host, which is Japan for most installations.
const TimeZoneDefault = "Asia/Tokyo"

// Options steer Map.
type Options struct {
	// Into is the folder of jobnets that are in no job group, and the
	// prefix of the folders made from job groups ("legacy" → "legacy.sales").
	Into string
	// TimeZone of the calendars (default TimeZoneDefault).
	TimeZone string
}

// nodeKind says what a JP1 unit becomes.
type nodeKind int

const (
	kindGroup  nodeKind = iota // job group → folder (and calendar)
	kindRoot                   // root jobnet → Jobnet
	kindInside                 // unit inside a jobnet → unit
)

// node is a JP1 unit placed in the Koyomi name space.
type node struct {
	u        *Unit   // nil for a group only named in a top-level path
	more     []*Unit // the same job group again (in another file)
	parent   *node
	path     string // JP1 full path, /group/jobnet/job
	kind     nodeKind
	name     string // Koyomi name
	folder   string // group: its folder; root and inside: the root's folder
	root     *node  // inside: the root jobnet
	upath    string // inside: Koyomi unit path within the root ("sub/job")
	children []*node
	names    map[string]bool // Koyomi names taken among the children
}

type mapper struct {
	opt      Options
	report   *Report
	probs    fault.Problems
	seen     map[*Param]bool
	byPath   map[string]*node
	tops     []*node
	bundle   *jobnet.Bundle
	folders  map[string]*jobnet.Folder
	cals     map[string]*calInfo // by calendar name
	groupCal map[*node]*calInfo
	topNames map[string]bool
}

// Map turns parsed unit definitions into Koyomi definitions and a report of
// what came over how. Every parameter of every unit ends up in the report.
// Definitions that JP1 itself would reject (a relation to an unknown unit, a
// date that does not exist, a malformed schedule value) are returned as
// fault.Problems at file:line.
func Map(units []*Unit, opt Options) (*jobnet.Bundle, *Report, error) {
	if opt.TimeZone == "" {
		opt.TimeZone = TimeZoneDefault
	}
	m := &mapper{opt: opt, report: &Report{}, seen: map[*Param]bool{}, byPath: map[string]*node{},
		bundle: &jobnet.Bundle{}, folders: map[string]*jobnet.Folder{}, cals: map[string]*calInfo{},
		groupCal: map[*node]*calInfo{}, topNames: map[string]bool{}}
	for _, u := range units {
		m.place(u)
	}
	if len(m.probs) > 0 {
		return nil, nil, m.probs
	}
	m.walkGroups(m.tops)
	for _, n := range m.tops {
		m.mapTree(n)
	}
	for _, u := range units {
		m.sweep(u, "")
	}
	if len(m.probs) > 0 {
		sort.SliceStable(m.probs, func(i, k int) bool { return m.probs[i].Path < m.probs[k].Path })
		return nil, nil, m.probs
	}
	for _, name := range sortedKeys(m.cals) {
		m.bundle.Calendars = append(m.bundle.Calendars, m.cals[name].def)
	}
	for _, name := range sortedKeys(m.folders) {
		m.bundle.Folders = append(m.bundle.Folders, *m.folders[name])
	}
	sort.SliceStable(m.bundle.Jobnets, func(i, k int) bool { return m.bundle.Jobnets[i].Path() < m.bundle.Jobnets[k].Path() })
	return m.bundle, m.report, nil
}

func sortedKeys[V any](mp map[string]V) []string {
	ks := make([]string, 0, len(mp))
	for k := range mp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// note records what became of parameter p of the unit at path.
func (m *mapper) note(sev Severity, u *Unit, path string, p *Param, format string, args ...any) {
	f := Finding{Severity: sev, File: u.File, Line: u.Line, Unit: path, Message: fmt.Sprintf(format, args...)}
	if p != nil {
		m.seen[p] = true
		f.Line = p.Line
		f.Param = shorten(p.Key + "=" + p.Value)
	} else {
		f.Param = shorten("unit=" + u.Name)
	}
	m.report.Findings = append(m.report.Findings, f)
}

// fail records a definition JP1 itself would reject.
func (m *mapper) fail(u *Unit, p *Param, format string, args ...any) {
	line := u.Line
	if p != nil {
		m.seen[p] = true
		line = p.Line
		format = p.Key + "=" + shorten(p.Value) + ": " + format
	}
	m.probs.Add(fmt.Sprintf("%s:%d", u.File, line), format, args...)
}

// sweep reports every parameter that no mapping step looked at.
func (m *mapper) sweep(u *Unit, parent string) {
	path := parent + "/" + u.Name
	if strings.HasPrefix(u.Name, "/") {
		path = u.Name
	}
	if len(u.Attrs) >= 3 && u.Attrs[2] != "" {
		m.note(Approximated, u, path, nil, "JP1 resource group %s: Koyomi controls access by folder and role", u.Attrs[2])
	}
	for i := range u.Params {
		p := &u.Params[i]
		if !m.seen[p] {
			m.note(Unmapped, u, path, p, "Koyomi has no equivalent of this parameter; it is not carried over")
		}
	}
	for _, c := range u.Children {
		m.sweep(c, path)
	}
}

// params returns the parameters of u with the key.
func params(u *Unit, key string) []*Param {
	var out []*Param
	for i := range u.Params {
		if u.Params[i].Key == key {
			out = append(out, &u.Params[i])
		}
	}
	return out
}

// param returns the last parameter of u with the key, or nil.
func param(u *Unit, key string) *Param {
	ps := params(u, key)
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

func isJobnetType(ty string) bool { return ty == "n" || ty == "rn" }

// place builds the node tree of one top-level unit.
func (m *mapper) place(u *Unit) {
	var parent *node
	name := u.Name
	if strings.Contains(name, "/") {
		parts := strings.Split(strings.Trim(name, "/"), "/")
		name = parts[len(parts)-1]
		path := ""
		for _, g := range parts[:len(parts)-1] {
			path += "/" + g
			gn := m.byPath[path]
			if gn == nil {
				gn = m.newNode(nil, parent, path, g, kindGroup)
			}
			parent = gn
		}
	}
	m.placeUnit(u, parent, name)
}

func (m *mapper) newNode(u *Unit, parent *node, path, jp1Name string, kind nodeKind) *node {
	n := &node{u: u, parent: parent, path: path, kind: kind, names: map[string]bool{}}
	taken := m.topNames
	if parent != nil {
		taken = parent.names
	}
	n.name = uniqueName(jp1Name, taken)
	switch {
	case kind == kindGroup && parent == nil:
		n.folder = joinFolder(m.opt.Into, n.name)
	case kind == kindGroup:
		n.folder = joinFolder(parent.folder, n.name)
	case kind == kindRoot && parent == nil:
		n.folder = m.opt.Into
	case kind == kindRoot:
		n.folder = parent.folder
	case kind == kindInside:
		n.root = parent
		if parent.kind == kindInside {
			n.root = parent.root
			n.upath = parent.upath + jobnet.PathSep + n.name
		} else {
			n.upath = n.name
		}
		n.folder = n.root.folder
	}
	if parent == nil {
		m.tops = append(m.tops, n)
	} else {
		parent.children = append(parent.children, n)
	}
	m.byPath[path] = n
	return n
}

// joinFolder names the folder of a job group below prefix; a name longer
// than Koyomi allows keeps its start and a hash of the whole.
func joinFolder(prefix, name string) string {
	if prefix == "" {
		return name
	}
	s := prefix + "." + name
	if len(s) <= 64 {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%s-%08x", s[:64-9], h.Sum32())
}

func (m *mapper) placeUnit(u *Unit, parent *node, name string) {
	path := "/" + name
	if parent != nil {
		path = parent.path + "/" + name
	}
	ty := u.Type()
	kind := kindInside
	switch {
	case parent == nil || parent.kind == kindGroup:
		switch {
		case ty == "g" || ty == "mg":
			kind = kindGroup
		case isJobnetType(ty):
			kind = kindRoot
			if parent == nil && m.opt.Into == "" {
				m.probs.Add(fmt.Sprintf("%s:%d", u.File, u.Line), "jobnet %s is in no job group: name its folder with --into FOLDER", name)
				return
			}
		default:
			m.note(Unmapped, u, path, param(u, "ty"), "a unit of type %s outside a jobnet is not carried over", ty)
			return
		}
	}
	var n *node
	if ex := m.byPath[path]; ex != nil && kind == kindGroup && ex.kind == kindGroup && ex.u == nil {
		ex.u = u
		n = ex
	} else if ex != nil && kind == kindGroup && ex.kind == kindGroup {
		// the same job group in another file: merge its contents
		n = ex
		n.more = append(n.more, u)
	} else if ex != nil {
		m.probs.Add(fmt.Sprintf("%s:%d", u.File, u.Line), "unit %s is defined twice (also at %s:%d)", path, ex.u.File, ex.u.Line)
		return
	} else {
		n = m.newNode(u, parent, path, name, kind)
	}
	for _, c := range u.Children {
		m.placeUnit(c, n, c.Name)
	}
}

// koyomiName turns a JP1 unit name (up to 30 bytes, any characters) into a
// Koyomi name (see jobnet.SafeName: "給与計算" → "u-ed03c9af").
func koyomiName(s string) string { return jobnet.SafeName(s) }

// uniqueName returns koyomiName(s), suffixed -2, -3 … when taken.
func uniqueName(s string, taken map[string]bool) string {
	base := koyomiName(s)
	n := base
	for i := 2; taken[n]; i++ {
		suf := fmt.Sprintf("-%d", i)
		n = base[:min(len(base), 64-len(suf))] + suf
	}
	taken[n] = true
	return n
}

// ensureFolder returns the folder of a name, creating it.
func (m *mapper) ensureFolder(name, desc string) *jobnet.Folder {
	f := m.folders[name]
	if f == nil {
		f = &jobnet.Folder{Name: name, Description: desc}
		m.folders[name] = f
	}
	return f
}

// units returns the definitions of a node (a job group may come in several files).
func (n *node) units() []*Unit {
	if n.u == nil {
		return n.more
	}
	return append([]*Unit{n.u}, n.more...)
}
