package jobrun

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// UnitRun is the current state of one unit in a generation, as the store
// holds it.
type UnitRun struct {
	// Path is the unit path: names of enclosing jobnet units and the unit's
	// name joined by "/" ("sub/extract").
	Path string
	// Kind is informational; the graph's kind is authoritative.
	Kind  jobnet.UnitKind
	State JobState
	// ExitCode of the latest attempt, if it exited.
	ExitCode *int
	// JudgmentResult is set once a judgment unit evaluated its condition.
	JudgmentResult *bool
	Flags          Flags
	// Attempt counts dispatches of the unit over the generation's life,
	// retries and reruns included (0 before the first).
	Attempt int
	// NotBefore holds a waiting unit back until a retry is due.
	NotBefore time.Time
}

// Change is one state change for the caller to apply as a guarded update
// (from From to To, for CauseEvaluate).
type Change struct {
	Path     string
	From, To JobState
}

// JudgmentDue is a judgment unit whose incoming edges all fired: the caller
// evaluates it (Resolve) and records the result with CauseJudged.
type JudgmentDue struct {
	Path     string
	Judgment jobnet.Judgment
	// Predecessor is the unit of the judgment's first incoming edge, and
	// ExitCode that unit's exit code, for exit_code judgments.
	Predecessor string
	ExitCode    *int
}

// Resolve evaluates the judgment. It returns ended_normal and the result, or
// ended_abnormal, no result and the reason when the condition cannot be
// evaluated (the judgment's recovery edges then fire).
func (d JudgmentDue) Resolve(vars map[string]string, stat func(string) bool) (JobState, *bool, error) {
	ok, err := EvalJudgment(d.Judgment, JudgmentInput{ExitCode: d.ExitCode, Vars: vars, Stat: stat})
	if err != nil {
		return StateEndedAbnormal, nil, fmt.Errorf("judgment unit %q: %w", d.Path, err)
	}
	return StateEndedNormal, &ok, nil
}

// Step is what one evaluation asks the caller to do. Lists are in graph order
// (Graph.Paths).
type Step struct {
	// Ready lists job and wait units whose incoming edges all fired: waiting → queued.
	Ready []Change
	// Judge lists judgment units to evaluate now.
	Judge []JudgmentDue
	// Bypass lists units whose incoming edges can no longer fire, and pending
	// units inside a nested jobnet that ended or was bypassed: → bypassed.
	Bypass []Change
	// Derived lists nested jobnet units whose state, derived from their
	// children, differs from the stored one.
	Derived []Change
	// Gen is the generation's derived state: running while any root-level
	// unit has not ended, else its end state. The caller applies it only to
	// a running (or held) generation; an operator's kill stays killed.
	Gen GenState
	// Wake is the earliest NotBefore holding back a unit whose edges fired;
	// zero if none. Evaluate again at that time.
	Wake time.Time
}

// Empty reports whether the step changes nothing.
func (s Step) Empty() bool {
	return len(s.Ready) == 0 && len(s.Judge) == 0 && len(s.Bypass) == 0 && len(s.Derived) == 0
}

type inEdge struct {
	from int32
	kind jobnet.EdgeKind
}

type node struct {
	path     string
	unit     jobnet.Unit
	parent   int32 // enclosing jobnet unit, -1 at the root
	last     int32 // last descendant (the node itself when it has none)
	in       []inEdge
	out      []int32 // distinct successors in the same net
	children []int32 // a nested jobnet's units in topological order
}

func (n *node) nested() bool { return n.unit.Kind == jobnet.UnitJobnet }

// Graph is a compiled net: units flattened with their paths, nested units
// right after their jobnet unit, every net in topological order. Compile it
// once per jobnet version and evaluate it on every state change. A Graph is
// immutable and safe for concurrent use.
type Graph struct {
	nodes []node
	index map[string]int32
	roots []int32
	paths []string
}

// Compile flattens and checks a net. Unit names must be non-empty, unique in
// their net and free of "/"; edges must name units of their net with a known
// kind; nets must be acyclic; jobnet units need a net. Every problem is
// reported with its path (fault.Problems, ErrInvalid).
func Compile(net jobnet.Net) (*Graph, error) {
	g := &Graph{index: map[string]int32{}}
	var ps fault.Problems
	g.roots = g.compile(&net, "", "", -1, &ps)
	if err := ps.Err(); err != nil {
		return nil, fmt.Errorf("compile net: %w", err)
	}
	g.paths = make([]string, len(g.nodes))
	for i := range g.nodes {
		g.paths[i] = g.nodes[i].path
	}
	return g, nil
}

func (g *Graph) compile(net *jobnet.Net, prefix, where string, parent int32, ps *fault.Problems) []int32 {
	local := make(map[string]int, len(net.Units))
	for i, u := range net.Units {
		at := fmt.Sprintf("%sunits[%d]", where, i)
		switch {
		case u.Name == "":
			ps.Add(at, "unit has no name")
		case strings.Contains(u.Name, jobnet.PathSep):
			ps.Add(at, "unit name %q must not contain %q", u.Name, jobnet.PathSep)
		default:
			if _, dup := local[u.Name]; dup {
				ps.Add(at, "duplicate unit name %q", u.Name)
			} else {
				local[u.Name] = i
			}
		}
	}
	for i, e := range net.Edges {
		at := fmt.Sprintf("%sedges[%d]", where, i)
		if _, ok := local[e.From]; !ok {
			ps.Add(at, "unknown unit %q", e.From)
		}
		if _, ok := local[e.To]; !ok {
			ps.Add(at, "unknown unit %q", e.To)
		}
		switch e.EffectiveKind() {
		case jobnet.EdgeNormal, jobnet.EdgeRecovery, jobnet.EdgeTrue, jobnet.EdgeFalse:
		default:
			ps.Add(at, "unknown edge kind %q", e.Kind)
		}
	}
	order, err := jobnet.Topo(net)
	if err != nil {
		var ce *jobnet.CycleError
		if errors.As(err, &ce) {
			ps.Add(strings.TrimSuffix(where, "."), "%s", ce.Error())
		} else {
			ps.Add(strings.TrimSuffix(where, "."), "%s", err.Error())
		}
		return nil
	}
	ids := make(map[string]int32, len(order))
	list := make([]int32, 0, len(order))
	for _, name := range order {
		ui := local[name]
		u := net.Units[ui]
		id := int32(len(g.nodes))
		ids[name] = id
		list = append(list, id)
		path := prefix + name
		g.nodes = append(g.nodes, node{path: path, unit: u, parent: parent, last: id})
		g.index[path] = id
		if u.Kind == jobnet.UnitJobnet {
			at := fmt.Sprintf("%sunits[%d]", where, ui)
			if u.Net == nil {
				ps.Add(at, "jobnet unit %q has no net", name)
				continue
			}
			children := g.compile(u.Net, path+jobnet.PathSep, at+".net.", id, ps)
			g.nodes[id].children = children
			g.nodes[id].last = int32(len(g.nodes) - 1)
		}
	}
	linked := make(map[[2]int32]bool, len(net.Edges))
	for _, e := range net.Edges {
		f, okf := ids[e.From]
		t, okt := ids[e.To]
		if !okf || !okt {
			continue
		}
		g.nodes[t].in = append(g.nodes[t].in, inEdge{from: f, kind: e.EffectiveKind()})
		if !linked[[2]int32{f, t}] {
			linked[[2]int32{f, t}] = true
			g.nodes[f].out = append(g.nodes[f].out, t)
		}
	}
	return list
}

// Len returns the number of units, nested ones included.
func (g *Graph) Len() int { return len(g.nodes) }

// Paths returns every unit path in graph order: each net in topological
// order, a nested jobnet's units right after it. States passed in this order
// are matched without lookups.
func (g *Graph) Paths() []string { return append([]string(nil), g.paths...) }

// Unit returns the definition of the unit at path.
func (g *Graph) Unit(path string) (jobnet.Unit, bool) {
	i, ok := g.index[path]
	if !ok {
		return jobnet.Unit{}, false
	}
	return g.nodes[i].unit, true
}

// Predecessors returns the units with an edge into path, in edge order.
func (g *Graph) Predecessors(path string) []string {
	i, ok := g.index[path]
	if !ok {
		return nil
	}
	var out []string
	for _, e := range g.nodes[i].in {
		out = append(out, g.nodes[e.from].path)
	}
	return out
}

// InitialState is the state a unit starts a generation in: held when its
// definition says so, else waiting.
func InitialState(u jobnet.Unit) JobState {
	if u.Hold {
		return StateHeld
	}
	return StateWaiting
}

// InitialStates returns the rows of a new generation in graph order.
func (g *Graph) InitialStates() []UnitRun {
	out := make([]UnitRun, len(g.nodes))
	for i := range g.nodes {
		n := &g.nodes[i]
		out[i] = UnitRun{Path: n.path, Kind: n.unit.Kind, State: InitialState(n.unit)}
	}
	return out
}

// Evaluate compiles net and evaluates it once; see Graph.Evaluate.
func Evaluate(net jobnet.Net, states []UnitRun, now time.Time) (Step, error) {
	g, err := Compile(net)
	if err != nil {
		return Step{}, err
	}
	return g.Evaluate(states, now)
}

// bind matches the rows to nodes. A unit without a row counts as being in its
// initial state; a row for an unknown unit, a duplicate row or an unknown
// state is an error (fault.ErrInvalid).
func (g *Graph) bind(states []UnitRun) ([]*UnitRun, error) {
	cur := make([]*UnitRun, len(g.nodes))
	aligned := len(states) == len(g.nodes)
	for i := range states {
		r := &states[i]
		var id int32
		if aligned && r.Path == g.paths[i] {
			id = int32(i)
		} else {
			var ok bool
			id, ok = g.index[r.Path]
			if !ok {
				return nil, fmt.Errorf("state of unit %q: no such unit in the net: %w", r.Path, fault.ErrInvalid)
			}
		}
		if cur[id] != nil {
			return nil, fmt.Errorf("state of unit %q: given twice: %w", r.Path, fault.ErrInvalid)
		}
		if !r.State.Valid() {
			return nil, fmt.Errorf("state of unit %q: unknown state %q: %w", r.Path, r.State, fault.ErrInvalid)
		}
		cur[id] = r
	}
	return cur, nil
}

func (g *Graph) stored(cur []*UnitRun, i int32) JobState {
	if r := cur[i]; r != nil {
		return r.State
	}
	return InitialState(g.nodes[i].unit)
}

type gate uint8

const (
	gateOpen    gate = iota // the net runs: units whose edges fired start
	gatePending             // the enclosing jobnet unit has not started
	gateDead                // it ended or was bypassed: pending units are bypassed
)

type evaluator struct {
	g    *Graph
	cur  []*UnitRun
	eff  []JobState
	now  time.Time
	step Step
}

// Evaluate computes what follows from the current states at now: the units
// that become ready, the judgments to evaluate, the units to bypass, the
// derived states of nested jobnets and the generation's state. It assumes
// the generation runs (the caller does not apply Ready while it is held).
// Units in Ready and Judge count as not ended, so their successors wait for
// the next evaluation; bypassing is transitive within one evaluation.
func (g *Graph) Evaluate(states []UnitRun, now time.Time) (Step, error) {
	cur, err := g.bind(states)
	if err != nil {
		return Step{}, fmt.Errorf("evaluate: %w", err)
	}
	e := evaluator{g: g, cur: cur, eff: make([]JobState, len(g.nodes)), now: now}
	e.net(g.roots, gateOpen)
	e.step.Gen = GenRunning
	if end, ok := aggregate(e.eff, g.roots); ok {
		e.step.Gen = genOf(end)
	}
	return e.step, nil
}

func (e *evaluator) net(list []int32, gt gate) {
	for _, i := range list {
		e.unit(i, gt)
	}
}

func (e *evaluator) unit(i int32, gt gate) {
	n := &e.g.nodes[i]
	s := e.g.stored(e.cur, i)
	eff := s
	switch {
	case !s.IsPending():
	case gt == gateDead:
		eff = e.bypass(i, s)
	case gt == gateOpen:
		switch e.edges(n) {
		case edgesDead:
			eff = e.bypass(i, s)
		case edgesFired:
			eff = e.fire(i, n, s)
		}
	}
	e.eff[i] = eff
	if !n.nested() {
		return
	}
	switch {
	case eff == StateRunning:
		e.net(n.children, gateOpen)
		end, done := aggregate(e.eff, n.children)
		if done {
			eff = end
			e.eff[i] = end
		}
	case eff.IsTerminal():
		e.net(n.children, gateDead)
	default:
		e.net(n.children, gatePending)
	}
	if eff != s {
		e.step.Derived = append(e.step.Derived, Change{Path: n.path, From: s, To: eff})
	}
}

// fire handles a pending unit whose incoming edges all fired.
func (e *evaluator) fire(i int32, n *node, s JobState) JobState {
	if s == StateHeld {
		return s
	}
	switch n.unit.Kind {
	case jobnet.UnitJobnet:
		return StateRunning
	case jobnet.UnitJudgment:
		due := JudgmentDue{Path: n.path}
		if n.unit.Judgment != nil {
			due.Judgment = *n.unit.Judgment
		}
		if len(n.in) > 0 {
			p := n.in[0].from
			due.Predecessor = e.g.nodes[p].path
			if r := e.cur[p]; r != nil {
				due.ExitCode = r.ExitCode
			}
		}
		e.step.Judge = append(e.step.Judge, due)
		return s
	}
	if r := e.cur[i]; r != nil && r.NotBefore.After(e.now) {
		if e.step.Wake.IsZero() || r.NotBefore.Before(e.step.Wake) {
			e.step.Wake = r.NotBefore
		}
		return s
	}
	e.step.Ready = append(e.step.Ready, Change{Path: n.path, From: s, To: StateQueued})
	return StateQueued
}

func (e *evaluator) bypass(i int32, s JobState) JobState {
	if !e.g.nodes[i].nested() {
		e.step.Bypass = append(e.step.Bypass, Change{Path: e.g.nodes[i].path, From: s, To: StateBypassed})
	}
	// A nested unit's bypass is reported in Derived, with its children in Bypass.
	return StateBypassed
}

type edgeStatus uint8

const (
	edgesPending edgeStatus = iota
	edgesFired
	edgesDead
)

// edges reports whether all incoming edges fired, one can no longer fire, or
// some still wait. A unit without incoming edges is fired.
func (e *evaluator) edges(n *node) edgeStatus {
	st := edgesFired
	for _, in := range n.in {
		ps := e.eff[in.from]
		if !ps.IsTerminal() {
			st = edgesPending
			continue
		}
		var result *bool
		if r := e.cur[in.from]; r != nil {
			result = r.JudgmentResult
		}
		if !EdgeFires(in.kind, ps, result) {
			return edgesDead
		}
	}
	return st
}

// EdgeFires reports whether an edge of kind fires once its predecessor ended
// in state: normal after ended normally or with warning; recovery after
// ended abnormally, killed, failed to start or unknown end; true and false
// after a judgment ended normally with that result. Nothing fires after bypassed.
func EdgeFires(kind jobnet.EdgeKind, state JobState, judgment *bool) bool {
	switch kind {
	case jobnet.EdgeNormal, "":
		return state.EndedOK()
	case jobnet.EdgeRecovery:
		return state.EndedAbnormally()
	case jobnet.EdgeTrue:
		return state == StateEndedNormal && judgment != nil && *judgment
	case jobnet.EdgeFalse:
		return state == StateEndedNormal && judgment != nil && !*judgment
	}
	return false
}

// aggregate returns the end state of a set of units once all ended: ended
// abnormally if any ended abnormally, failed to start or has an unknown end;
// else killed if any was killed; else with warning if any ended with
// warning; else normally (bypassed units count as nothing). done is false
// while any unit has not ended.
func aggregate(eff []JobState, list []int32) (JobState, bool) {
	var abn, killed, warn bool
	for _, i := range list {
		switch eff[i] {
		case StateEndedAbnormal, StateFailedToStart, StateUnknownEnd:
			abn = true
		case StateKilled:
			killed = true
		case StateEndedWarning:
			warn = true
		case StateEndedNormal, StateBypassed:
		default:
			return "", false
		}
	}
	switch {
	case abn:
		return StateEndedAbnormal, true
	case killed:
		return StateKilled, true
	case warn:
		return StateEndedWarning, true
	}
	return StateEndedNormal, true
}

// GenStateOf derives a generation's state from its root-level unit states
// (what Step.Gen reports): running while any has not ended, else their
// aggregate end state.
func GenStateOf(states []JobState) GenState {
	list := make([]int32, len(states))
	for i := range list {
		list[i] = int32(i)
	}
	end, ok := aggregate(states, list)
	if !ok {
		return GenRunning
	}
	return genOf(end)
}

func genOf(s JobState) GenState {
	switch s {
	case StateEndedAbnormal:
		return GenEndedAbnormal
	case StateKilled:
		return GenKilled
	case StateEndedWarning:
		return GenEndedWarning
	}
	return GenEndedNormal
}
