package forecast

import (
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Shape is a jobnet version flattened for the forecast: every unit with its
// path, its incoming edges and its enclosing nested jobnet, each net in
// topological order with a nested jobnet's units right after it (so every
// predecessor and every enclosing jobnet comes before a unit). Compile it
// once per jobnet version; it is immutable.
type Shape struct {
	Units []ShapeUnit
	index map[string]int32
}

// ShapeUnit is one unit of a Shape.
type ShapeUnit struct {
	Path string
	Kind jobnet.UnitKind
	// Pool is the resource pool a job takes a slot of ("" for none).
	Pool string
	// In are the unit's incoming edges.
	In []ShapeEdge
	// Parent is the enclosing nested jobnet unit, -1 at the root.
	Parent int32
	// Deadline is the unit's own deadline, if any.
	Deadline *jobnet.Due
}

// ShapeEdge is an incoming edge.
type ShapeEdge struct {
	From int32
	Kind jobnet.EdgeKind
}

// Compile flattens a net.
func Compile(net jobnet.Net) (*Shape, error) {
	s := &Shape{index: map[string]int32{}}
	if err := s.add(&net, "", -1); err != nil {
		return nil, fmt.Errorf("forecast shape: %w", err)
	}
	return s, nil
}

func (s *Shape) add(net *jobnet.Net, prefix string, parent int32) error {
	order, err := jobnet.Topo(net)
	if err != nil {
		return err
	}
	byName := make(map[string]*jobnet.Unit, len(net.Units))
	for i := range net.Units {
		byName[net.Units[i].Name] = &net.Units[i]
	}
	ids := make(map[string]int32, len(order))
	for _, name := range order {
		u := byName[name]
		id := int32(len(s.Units))
		ids[name] = id
		su := ShapeUnit{Path: prefix + name, Kind: u.Kind, Parent: parent, Deadline: u.Deadline}
		if u.Job != nil {
			su.Pool = u.Job.Pool
		}
		for _, e := range net.Edges {
			if e.To == name {
				from, ok := ids[e.From]
				if !ok {
					return fmt.Errorf("edge %s → %s: unknown or later unit %q", e.From, e.To, e.From)
				}
				su.In = append(su.In, ShapeEdge{From: from, Kind: e.EffectiveKind()})
			}
		}
		s.Units = append(s.Units, su)
		s.index[su.Path] = id
		if u.Kind == jobnet.UnitJobnet && u.Net != nil {
			if err := s.add(u.Net, su.Path+jobnet.PathSep, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// Index returns the position of the unit at path.
func (s *Shape) Index(path string) (int, bool) {
	i, ok := s.index[path]
	return int(i), ok
}

// UnitState is what the store knows of one unit of a generation.
type UnitState struct {
	State     jobrun.JobState
	StartedAt *time.Time
	EndedAt   *time.Time
	NotBefore *time.Time
	// Judgment is a judgment's result, once decided.
	Judgment *bool
}

// GenParams describe one generation for Build.
type GenParams struct {
	ID string
	// Start is when the generation starts: its scheduled start, or its
	// actual start once it has one.
	Start         time.Time
	MaxConcurrent int
	// Deadline of the generation (zero: none).
	Deadline time.Time
	// Ended is set once the generation has ended, with EndedAt.
	Ended   bool
	EndedAt time.Time
	// States by unit path (missing: the unit has not been created, as in a
	// planned generation, and counts as waiting).
	States map[string]UnitState
	// Expected durations, one per Shape unit (nested jobnets: unused).
	Expected []time.Duration
	// UnitDeadlines, one per Shape unit (zero: none).
	UnitDeadlines []time.Time
}

// Build turns a generation's stored states into the forecast's nodes. A
// unit that is waiting is expected to run when all its incoming edges can
// still fire, assuming that what has not ended yet ends normally: normal
// edges fire, recovery edges do not (a unit reached only by recovery edges
// is predicted not to run), and both branches of a judgment that has not
// been decided are expected to run (the pessimistic choice). A unit whose
// predecessor is predicted not to run does not run either (bypass).
func Build(s *Shape, p GenParams) Gen {
	g := Gen{ID: p.ID, Start: p.Start, MaxConcurrent: p.MaxConcurrent, Deadline: p.Deadline, Ended: p.Ended, EndedAt: p.EndedAt,
		Nodes: make([]Node, len(s.Units))}
	for i := range s.Units {
		su := &s.Units[i]
		n := &g.Nodes[i]
		n.Path, n.Parent, n.Pool = su.Path, su.Parent, su.Pool
		n.Container = su.Kind == jobnet.UnitJobnet
		n.Slot = su.Kind == jobnet.UnitJob
		if i < len(p.Expected) {
			n.Expected = p.Expected[i]
		}
		if i < len(p.UnitDeadlines) {
			n.Deadline = p.UnitDeadlines[i]
		}
		n.Deps = make([]int32, 0, len(su.In))
		for _, e := range su.In {
			n.Deps = append(n.Deps, e.From)
		}
		st, ok := p.States[su.Path]
		if !ok {
			st = UnitState{State: jobrun.StateWaiting}
		}
		switch {
		case st.State == jobrun.StateBypassed:
			n.Status = Skipped
		case st.State.IsTerminal():
			n.Status = Done
		case st.State == jobrun.StateRunning || st.State == jobrun.StateStarting:
			n.Status = Running
		default:
			n.Status = Pending
		}
		if st.StartedAt != nil {
			n.Start = *st.StartedAt
		}
		if st.EndedAt != nil {
			n.End = *st.EndedAt
		}
		if st.NotBefore != nil && n.Status == Pending {
			n.NotBefore = *st.NotBefore
		}
		if n.Status == Running && n.Start.IsZero() {
			n.Start = p.Start
		}
		if n.Status != Pending {
			continue
		}
		if su.Parent >= 0 && g.Nodes[su.Parent].Status == Skipped {
			n.Status = Skipped
			continue
		}
		for _, e := range su.In {
			pred := &g.Nodes[e.From]
			ps := p.States[s.Units[e.From].Path]
			predState := ps.State
			var fires bool
			switch {
			case pred.Status == Skipped:
				fires = false
			case pred.Status == Done && e.Kind == jobnet.EdgeRecovery:
				fires = predState.EndedAbnormally()
			case pred.Status == Done && (e.Kind == jobnet.EdgeTrue || e.Kind == jobnet.EdgeFalse):
				fires = predState.EndedOK() && (ps.Judgment == nil || *ps.Judgment == (e.Kind == jobnet.EdgeTrue))
			case pred.Status == Done:
				fires = predState.EndedOK()
			default:
				fires = e.Kind != jobnet.EdgeRecovery
			}
			if !fires {
				n.Status = Skipped
				break
			}
		}
	}
	return g
}
