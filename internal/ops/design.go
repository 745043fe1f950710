package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// JobnetListItem is one line of the jobnets page.
type JobnetListItem struct {
	Folder  string
	Name    string
	Title   string
	Version int
	// Calendar is the jobnet's calendar, or the folder's ("" for none).
	Calendar        string
	CalendarFromDir bool
	Rules           string
	Units           int
	ChangedBy       string
	ChangedAt       time.Time
}

// Path returns folder/name.
func (j JobnetListItem) Path() string { return j.Folder + "/" + j.Name }

// DesignFolders lists the folders.
func (s *Service) DesignFolders(ctx context.Context) ([]jobnet.Folder, error) {
	return s.store.Folders(ctx)
}

// CalendarNames lists the names of the stored calendars.
func (s *Service) CalendarNames(ctx context.Context) ([]string, error) {
	cals, err := s.store.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cals))
	for i, c := range cals {
		out[i] = c.Name
	}
	return out, nil
}

// DesignJobnets lists the current version of every jobnet (of one folder,
// or all when folder is "").
func (s *Service) DesignJobnets(ctx context.Context, folder string) ([]JobnetListItem, error) {
	folders, err := s.store.Folders(ctx)
	if err != nil {
		return nil, err
	}
	fcal := map[string]string{}
	for _, f := range folders {
		fcal[f.Name] = f.Calendar
	}
	vs, err := s.store.CurrentJobnets(ctx, folder)
	if err != nil {
		return nil, err
	}
	out := make([]JobnetListItem, 0, len(vs))
	for _, v := range vs {
		j := v.Jobnet
		it := JobnetListItem{Folder: j.Folder, Name: j.Name, Title: j.Title, Version: v.Version, Calendar: j.Calendar,
			Rules: RulesSummary(j.Rules), Units: len(j.Units), ChangedBy: v.CreatedBy, ChangedAt: v.CreatedAt}
		if it.Calendar == "" {
			it.Calendar, it.CalendarFromDir = fcal[j.Folder], true
		}
		out = append(out, it)
	}
	return out, nil
}

// RulesSummary describes schedule rules in a few words ("day 15 before −2
// @09:00; +1 more"); "" when there are none.
func RulesSummary(rules []jobnet.Rule) string {
	if len(rules) == 0 {
		return ""
	}
	r := rules[0]
	parts := []string{string(r.Kind)}
	switch r.Kind {
	case jobnet.RuleDay, jobnet.RuleOpenDay, jobnet.RuleOpenDayFromEnd:
		parts = append(parts, fmt.Sprint(r.Day))
	case jobnet.RuleMonthEnd:
		if r.Day > 0 {
			parts = append(parts, fmt.Sprintf("-%d", r.Day))
		}
	case jobnet.RuleWeekdayOfMonth:
		if r.Weekday != nil {
			parts = append(parts, fmt.Sprintf("%d %v", r.Nth, *r.Weekday))
		}
	case jobnet.RuleEvery:
		parts = append(parts, fmt.Sprintf("%d %s", r.Every, r.Unit))
	case jobnet.RuleWeekdays:
		ws := make([]string, len(r.Weekdays))
		for i, w := range r.Weekdays {
			ws[i] = fmt.Sprint(w)
		}
		parts = append(parts, strings.Join(ws, ","))
	case jobnet.RuleDates:
		parts = append(parts, fmt.Sprintf("(%d)", len(r.Dates)))
	}
	if r.Closed != "" && r.Closed != jobnet.SubstituteSkip {
		parts = append(parts, string(r.Closed))
	}
	if r.Offset != 0 {
		parts = append(parts, fmt.Sprintf("%+d", r.Offset))
	}
	for _, t := range r.Start {
		parts = append(parts, fmt.Sprintf("@%v", t))
	}
	out := strings.Join(parts, " ")
	if len(rules) > 1 {
		out += fmt.Sprintf("; +%d more", len(rules)-1)
	}
	return out
}

func canDesign(a Actor) bool { return a.Role == store.RoleAdmin || a.Role == store.RoleDesigner }

// CreateFolder creates a new folder; an existing one is a conflict.
func (s *Service) CreateFolder(ctx context.Context, a Actor, f jobnet.Folder) error {
	if !canDesign(a) {
		return fmt.Errorf("create folder: %w", fault.ErrForbidden)
	}
	if _, err := s.store.Folder(ctx, f.Name); err == nil {
		return fmt.Errorf("folder %q already exists: %w", f.Name, fault.ErrConflict)
	} else if !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	_, err := s.Apply(ctx, a, &jobnet.Bundle{Folders: []jobnet.Folder{f}}, false)
	return err
}

// emptyNetProblem reports whether p is the "needs at least one unit" finding
// of the root net of the jobnet at prefix: a new jobnet starts empty.
func emptyNetProblem(prefix string, p fault.Problem) bool {
	return p.Path == prefix+".units" && strings.Contains(p.Message, "at least one unit")
}

// CreateJobnet creates version 1 of a new jobnet with an empty net. An
// empty root net is allowed only here: the editor fills it, and saving
// through Apply requires at least one unit again.
func (s *Service) CreateJobnet(ctx context.Context, a Actor, folder, name, title, cal string) (int, error) {
	if !canDesign(a) {
		return 0, fmt.Errorf("create jobnet: %w", fault.ErrForbidden)
	}
	if _, err := s.store.JobnetByPath(ctx, folder, name, 0); err == nil {
		return 0, fmt.Errorf("jobnet %q already exists: %w", folder+"/"+name, fault.ErrConflict)
	} else if !errors.Is(err, fault.ErrNotFound) {
		return 0, err
	}
	j := jobnet.Jobnet{Folder: folder, Name: name, Title: title, Calendar: cal, Net: jobnet.Net{Units: []jobnet.Unit{}}}
	known, err := s.Known(ctx)
	if err != nil {
		return 0, err
	}
	b := &jobnet.Bundle{Jobnets: []jobnet.Jobnet{j}}
	var ps fault.Problems
	for _, p := range jobnet.Validate(b, known) {
		if !emptyNetProblem("jobnets["+j.Path()+"]", p) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return 0, ps
	}
	objs, err := s.store.ApplyDefinitions(ctx, store.Definitions{Jobnets: []*jobnet.Jobnet{jobnet.Normalized(&j)}}, a.Username)
	if err != nil {
		return 0, err
	}
	version := 1
	for _, o := range objs {
		version = o.Version
	}
	if err := s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "apply", Target: "jobnet/" + j.Path(), Detail: fmt.Sprintf("created (version %d)", version)}); err != nil {
		return 0, err
	}
	return version, nil
}

// JobnetVersion returns a jobnet at a version (0: current).
func (s *Service) JobnetVersion(ctx context.Context, folder, name string, version int) (store.JobnetVersion, error) {
	return s.store.JobnetByPath(ctx, folder, name, version)
}

// JobnetHistory lists the versions of a jobnet, newest first.
func (s *Service) JobnetHistory(ctx context.Context, folder, name string) ([]store.JobnetVersion, error) {
	return s.store.JobnetVersions(ctx, folder, name)
}

// SaveResult says what saving a jobnet did.
type SaveResult struct {
	Version   int
	Unchanged bool
}

// SaveJobnet validates j against the database and stores it as a new
// version through Apply; identical content gets no new version.
func (s *Service) SaveJobnet(ctx context.Context, a Actor, j *jobnet.Jobnet) (SaveResult, error) {
	res, err := s.Apply(ctx, a, &jobnet.Bundle{Jobnets: []jobnet.Jobnet{*j}}, false)
	if err != nil {
		return SaveResult{}, fmt.Errorf("save jobnet %q: %w", j.Path(), err)
	}
	for _, o := range res.Objects {
		if o.Kind == "Jobnet" {
			return SaveResult{Version: o.Version, Unchanged: o.Change == store.ChangeUnchanged}, nil
		}
	}
	return SaveResult{}, fmt.Errorf("save jobnet %q: apply reported no jobnet", j.Path())
}

// UnitProblem is a validation finding tied to the unit it concerns.
type UnitProblem struct {
	// Unit is the unit path ("load", "sub/extract"), "" for the jobnet itself.
	Unit string
	// Units are further units the finding names (the units of a cycle).
	Units   []string
	Path    string
	Message string
}

var (
	unitSegRE = regexp.MustCompile(`^\.units\[([^\]]*)\](?:\.net)?`)
	cycleRE   = regexp.MustCompile(`cycle: (.*)$`)
)

// PinProblems maps validation problems of the jobnet at index i of a
// bundle ("jobnets[f/n].units[sub].net.units[load].job…") to unit paths
// ("sub/load"). Edge findings of a net name the net's unit path; cycle
// findings list the units of the cycle.
func PinProblems(j *jobnet.Jobnet, ps fault.Problems) []UnitProblem {
	prefix := "jobnets[" + j.Path() + "]"
	out := make([]UnitProblem, 0, len(ps))
	for _, p := range ps {
		up := UnitProblem{Path: p.Path, Message: p.Message}
		rest, ok := strings.CutPrefix(p.Path, prefix)
		if !ok {
			rest, ok = strings.CutPrefix(p.Path, "jobnets[0]")
		}
		var units []string
		for ok {
			m := unitSegRE.FindStringSubmatch(rest)
			if m == nil {
				break
			}
			units = append(units, m[1])
			rest = rest[len(m[0]):]
		}
		netPrefix := strings.Join(units, "/")
		if strings.HasPrefix(rest, ".edges") && !strings.HasPrefix(rest, ".units") {
			// An edge finding: pin it to the units it names, in this net.
			if m := cycleRE.FindStringSubmatch(p.Message); m != nil {
				names := strings.Split(m[1], " → ")
				seen := map[string]bool{}
				for _, n := range names {
					full := joinUnit(netPrefix, n)
					if !seen[full] {
						seen[full] = true
						up.Units = append(up.Units, full)
					}
				}
			} else if e := edgeOf(j, units, rest); e != nil {
				up.Units = []string{joinUnit(netPrefix, e.From), joinUnit(netPrefix, e.To)}
			}
			up.Unit = netPrefix
			if up.Unit == "" && len(up.Units) > 0 {
				up.Unit = up.Units[0]
			}
		} else {
			up.Unit = netPrefix
		}
		out = append(out, up)
	}
	return out
}

func joinUnit(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

var edgeIdxRE = regexp.MustCompile(`^\.edges\[(\d+)\]`)

// edgeOf returns the edge an edge path (".edges[3].from") names, if any.
func edgeOf(j *jobnet.Jobnet, units []string, rest string) *jobnet.Edge {
	m := edgeIdxRE.FindStringSubmatch(rest)
	if m == nil {
		return nil
	}
	var i int
	fmt.Sscan(m[1], &i)
	net := &j.Net
	if len(units) > 0 {
		u, err := jobnet.FindUnit(&j.Net, strings.Join(units, "/"))
		if err != nil || u.Net == nil {
			return nil
		}
		net = u.Net
	}
	if i < 0 || i >= len(net.Edges) {
		return nil
	}
	return &net.Edges[i]
}

// Layout geometry of the editor canvas.
const (
	LayoutLeft   = 40
	LayoutTop    = 40
	LayoutColumn = 200
	LayoutRow    = 90
)

// LayoutNet places the units of net (and, recursively, of nested nets)
// that have no position: layered left to right by topological depth (the
// longest path from a unit without predecessors), units of one layer top
// to bottom in definition order. Units that already have a position keep
// it; a net whose units all have one is not touched. Edges that form a
// cycle are ignored for the depth. It reports whether it placed anything.
func LayoutNet(net *jobnet.Net) bool {
	if net == nil {
		return false
	}
	changed := false
	for i := range net.Units {
		if net.Units[i].Net != nil && LayoutNet(net.Units[i].Net) {
			changed = true
		}
	}
	missing := slices.ContainsFunc(net.Units, func(u jobnet.Unit) bool { return u.Position == nil })
	if !missing {
		return changed
	}
	depth := unitDepths(net)
	rows := map[int]int{}
	// Keep placed units' slots occupied so new ones do not overlap them.
	taken := map[[2]int]bool{}
	for _, u := range net.Units {
		if u.Position != nil {
			taken[[2]int{u.Position.X, u.Position.Y}] = true
		}
	}
	for i := range net.Units {
		u := &net.Units[i]
		if u.Position != nil {
			continue
		}
		d := depth[u.Name]
		for {
			p := jobnet.Position{X: LayoutLeft + d*LayoutColumn, Y: LayoutTop + rows[d]*LayoutRow}
			rows[d]++
			if !taken[[2]int{p.X, p.Y}] {
				u.Position = &p
				taken[[2]int{p.X, p.Y}] = true
				break
			}
		}
	}
	return true
}

// unitDepths returns each unit's layer: 0 for units without predecessors,
// else one more than the deepest predecessor (longest path).
func unitDepths(net *jobnet.Net) map[string]int {
	pred := map[string][]string{}
	for _, e := range net.Edges {
		pred[e.To] = append(pred[e.To], e.From)
	}
	depth := map[string]int{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) int
	visit = func(n string) int {
		switch state[n] {
		case 2:
			return depth[n]
		case 1:
			return -1 // a cycle: ignore this edge
		}
		state[n] = 1
		d := 0
		for _, p := range pred[n] {
			if pd := visit(p); pd >= 0 && pd+1 > d {
				d = pd + 1
			}
		}
		state[n], depth[n] = 2, d
		return d
	}
	for _, u := range net.Units {
		visit(u.Name)
	}
	return depth
}

// PoolNames lists the names of the resource pools.
func (s *Service) PoolNames(ctx context.Context) ([]string, error) {
	ps, err := s.store.Pools(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out, nil
}
