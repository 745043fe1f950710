package forecast

import "time"

// Status is where a node stands for the forecast.
type Status uint8

const (
	// Pending: not started; it will run when its predecessors have ended.
	Pending Status = iota
	// Running: started; it ends at max(start + expected, now).
	Running
	// Done: ended, at End.
	Done
	// Skipped: bypassed, or predicted not to run; it takes no time.
	Skipped
)

// Node is one unit of a generation as the forecast sees it.
type Node struct {
	Path string
	// Deps are the predecessors (indices of earlier nodes of the generation).
	Deps []int32
	// Parent is the enclosing nested jobnet (an earlier node), -1 at the root.
	Parent int32
	// Container: a nested jobnet, which starts when its predecessors have
	// ended and ends when its units have.
	Container bool
	// Slot: a job, which takes a slot of its Pool and of the generation's
	// MaxConcurrent while it runs.
	Slot bool
	Pool string
	// Status with the actual Start (Running, Done) and End (Done).
	Status     Status
	Start, End time.Time
	// NotBefore holds a waiting unit back (a retry's interval).
	NotBefore time.Time
	// Expected is the unit's expected duration.
	Expected time.Duration
	// Deadline is the unit's own deadline (zero: none).
	Deadline time.Time
}

// Gen is one generation as the forecast sees it.
type Gen struct {
	ID string
	// Start is the scheduled (or actual) start.
	Start         time.Time
	MaxConcurrent int
	Deadline      time.Time
	Ended         bool
	EndedAt       time.Time
	Nodes         []Node
}

// Input is everything one forecast looks at.
type Input struct {
	Now time.Time
	// Pools maps pool names to their slots; a pool not named is unbounded.
	Pools map[string]int
	Gens  []Gen
}

// Risk says how a deadline stands.
type Risk string

const (
	// RiskNone: no deadline.
	RiskNone Risk = ""
	// RiskOK: predicted (or actually) ended before the deadline.
	RiskOK Risk = "ok"
	// RiskAtRisk: still running and predicted to end after the deadline.
	RiskAtRisk Risk = "at_risk"
	// RiskMissed: the deadline passed before the end.
	RiskMissed Risk = "missed"
)

// UnitForecast is the predicted start and end of one node.
type UnitForecast struct {
	Path     string        `json:"path"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Expected time.Duration `json:"expected"`
	// Critical: on the generation's critical path.
	Critical bool `json:"critical,omitempty"`
	// Skipped: bypassed or predicted not to run.
	Skipped  bool      `json:"skipped,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	Risk     Risk      `json:"risk,omitempty"`
}

// GenForecast is the predicted end of one generation.
type GenForecast struct {
	ID       string    `json:"id"`
	End      time.Time `json:"end"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Slack is Deadline − End (negative when late; zero without deadline).
	Slack time.Duration `json:"slack"`
	Risk  Risk          `json:"risk,omitempty"`
	// CriticalPath names the units whose chain decides End, first to last;
	// a nested jobnet appears before its units.
	CriticalPath []string       `json:"critical_path"`
	Units        []UnitForecast `json:"units"`
}

// Judge returns the risk of a deadline for something predicted to end at
// end (ended: it has ended, at end).
func Judge(deadline, end, now time.Time, ended bool) Risk {
	switch {
	case deadline.IsZero():
		return RiskNone
	case ended && end.After(deadline), !ended && !now.Before(deadline):
		return RiskMissed
	case !ended && end.After(deadline):
		return RiskAtRisk
	}
	return RiskOK
}

// Run forecasts every generation of in together: a list schedule in which
// each unit starts when its predecessors have ended (and its enclosing
// nested jobnet has started), not before its generation's start, now, or
// its NotBefore, and — for jobs — when a slot of its pool and of its
// generation's concurrency limit is free, units taking free slots in the
// order they became ready. Units running take their slots until
// max(start + expected, now). Run is pure and deterministic.
func Run(in Input) []GenForecast {
	s := newSim(in)
	s.run()
	out := make([]GenForecast, len(in.Gens))
	units := make([]UnitForecast, len(s.nodes)) // one allocation for all
	for gi := range in.Gens {
		out[gi] = s.result(gi, units[s.base[gi]:s.base[gi+1]:s.base[gi+1]])
	}
	return out
}

// Instants are Unix nanoseconds inside the simulation.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

type simNode struct {
	ready, start, end int64
	wait              int32 // unresolved predecessors (+1 while the parent has not started)
	childrenLeft      int32
	by                int32 // the predecessor whose end set ready (-1: none)
	endBy             int32 // for containers: the child that ended last (-1: none)
	pool              int32
	gen               int32
	byParent          bool // ready was set by the parent's start
}

type sim struct {
	in      Input
	now     int64
	nodes   []simNode // every node of every generation
	base    []int32   // first node of each generation
	succ    []int32   // successors, CSR by succOff
	succOff []int32
	kids    []int32 // children of nested jobnets, CSR by kidsOff
	kidsOff []int32
	pools   []slotHeap
	limits  []slotHeap // per generation; empty: no limit
	queue   readyQueue
	stack   []int32
	scratch []int32
}

// def returns the input node of simulation node x.
func (s *sim) def(x int32) *Node {
	g := s.nodes[x].gen
	return &s.in.Gens[g].Nodes[x-s.base[g]]
}

func newSim(in Input) *sim {
	s := &sim{in: in, now: ns(in.Now), base: make([]int32, len(in.Gens)+1), limits: make([]slotHeap, len(in.Gens))}
	total := 0
	for gi := range in.Gens {
		s.base[gi] = int32(total)
		total += len(in.Gens[gi].Nodes)
	}
	s.base[len(in.Gens)] = int32(total)
	s.nodes = make([]simNode, total)
	s.succOff = make([]int32, total+1)
	s.kidsOff = make([]int32, total+1)
	poolIndex := map[string]int32{}
	slots := 0
	for gi := range in.Gens {
		slots += max(in.Gens[gi].MaxConcurrent, 0)
	}
	limitSlots := make([]int64, slots) // one allocation for every generation's limit
	for gi := range in.Gens {
		g := &in.Gens[gi]
		b := s.base[gi]
		if n := g.MaxConcurrent; n > 0 {
			s.limits[gi], limitSlots = slotHeap{t: limitSlots[:n:n]}, limitSlots[n:]
		}
		start := ns(g.Start)
		for i := range g.Nodes {
			n := &g.Nodes[i]
			x := b + int32(i)
			sn := &s.nodes[x]
			sn.by, sn.endBy, sn.pool, sn.gen, sn.ready = -1, -1, -1, int32(gi), start
			if n.Slot && n.Pool != "" {
				if slots, ok := in.Pools[n.Pool]; ok && slots > 0 {
					pi, ok := poolIndex[n.Pool]
					if !ok {
						pi = int32(len(s.pools))
						poolIndex[n.Pool] = pi
						s.pools = append(s.pools, newSlotHeap(slots))
					}
					sn.pool = pi
				}
			}
			for _, d := range n.Deps {
				s.succOff[b+d+1]++
			}
			sn.wait = int32(len(n.Deps))
			if n.Parent >= 0 {
				sn.wait++
				s.kidsOff[b+n.Parent+1]++
				s.nodes[b+n.Parent].childrenLeft++
			}
		}
	}
	for i := 0; i < total; i++ {
		s.succOff[i+1] += s.succOff[i]
		s.kidsOff[i+1] += s.kidsOff[i]
	}
	s.succ = make([]int32, s.succOff[total])
	s.kids = make([]int32, s.kidsOff[total])
	fillS := append([]int32(nil), s.succOff[:total]...)
	fillK := append([]int32(nil), s.kidsOff[:total]...)
	for gi := range in.Gens {
		b := s.base[gi]
		for i := range in.Gens[gi].Nodes {
			n := &in.Gens[gi].Nodes[i]
			x := b + int32(i)
			for _, d := range n.Deps {
				s.succ[fillS[b+d]] = x
				fillS[b+d]++
			}
			if n.Parent >= 0 {
				s.kids[fillK[b+n.Parent]] = x
				fillK[b+n.Parent]++
			}
			if n.Status == Running && n.Slot { // running jobs hold their slots first
				s.take(x, max(ns(n.Start)+int64(n.Expected), s.now))
			}
		}
	}
	return s
}

// take occupies the slots node x needs until end.
func (s *sim) take(x int32, end int64) {
	sn := &s.nodes[x]
	if sn.pool >= 0 {
		s.pools[sn.pool].take(end)
	}
	if l := &s.limits[sn.gen]; len(l.t) > 0 {
		l.take(end)
	}
}

func (s *sim) freeAt(x int32) int64 {
	sn := &s.nodes[x]
	var free int64
	if sn.pool >= 0 {
		free = s.pools[sn.pool].t[0]
	}
	if l := &s.limits[sn.gen]; len(l.t) > 0 {
		free = max(free, l.t[0])
	}
	return free
}

func (s *sim) run() {
	for x := range s.nodes {
		if s.nodes[x].wait == 0 {
			s.stack = append(s.stack, int32(x))
		}
	}
	for {
		for len(s.stack) > 0 {
			x := s.stack[len(s.stack)-1]
			s.stack = s.stack[:len(s.stack)-1]
			s.begin(x)
		}
		if len(s.queue) == 0 {
			return
		}
		x := s.queue.pop(s.nodes)
		sn := &s.nodes[x]
		sn.start = max(sn.ready, s.freeAt(x))
		sn.end = sn.start + int64(s.def(x).Expected)
		s.take(x, sn.end)
		s.finish(x)
	}
}

// begin handles a node whose predecessors have all ended (and whose parent
// has started): it starts, or is queued for a slot.
func (s *sim) begin(x int32) {
	n := s.def(x)
	sn := &s.nodes[x]
	if nb := ns(n.NotBefore); nb > sn.ready {
		sn.ready, sn.by, sn.byParent = nb, -1, false
	}
	switch n.Status {
	case Done:
		sn.start, sn.end = ns(n.Start), ns(n.End)
		if sn.start == 0 {
			sn.start = sn.end
		}
		s.started(x)
		return
	case Skipped:
		sn.start, sn.end = sn.ready, sn.ready
		if e := ns(n.End); e != 0 {
			sn.start, sn.end = e, e
		}
		s.started(x)
		return
	case Running:
		sn.start = ns(n.Start)
		if !n.Container {
			sn.end = max(sn.start+int64(n.Expected), s.now)
		}
		s.started(x)
		return
	}
	sn.ready = max(sn.ready, s.now) // what has not started starts no earlier than now
	if n.Container {
		sn.start = sn.ready
		s.started(x)
		return
	}
	if !n.Slot || (sn.pool < 0 && len(s.limits[sn.gen].t) == 0) {
		sn.start, sn.end = sn.ready, sn.ready+int64(n.Expected)
		s.finish(x)
		return
	}
	s.queue.push(s.nodes, x)
}

// started releases a nested jobnet's units (one without units ends at
// once) and finishes any other node, whose end is known.
func (s *sim) started(x int32) {
	n := s.def(x)
	sn := &s.nodes[x]
	if !n.Container {
		s.finish(x)
		return
	}
	kids := s.kids[s.kidsOff[x]:s.kidsOff[x+1]]
	if len(kids) == 0 {
		if n.Status != Done {
			sn.end = sn.start
		}
		s.finish(x)
		return
	}
	for _, c := range kids {
		cn := &s.nodes[c]
		if sn.start > cn.ready {
			cn.ready, cn.by, cn.byParent = sn.start, x, true
		}
		cn.wait--
		if cn.wait == 0 {
			s.stack = append(s.stack, c)
		}
	}
}

// finish records a node's end and releases its successors and, as the
// last unit of a nested jobnet, the jobnet's end.
func (s *sim) finish(x int32) {
	sn := &s.nodes[x]
	for _, succ := range s.succ[s.succOff[x]:s.succOff[x+1]] {
		y := &s.nodes[succ]
		if sn.end >= y.ready {
			y.ready, y.by, y.byParent = sn.end, x, false
		}
		y.wait--
		if y.wait == 0 {
			s.stack = append(s.stack, succ)
		}
	}
	n := s.def(x)
	if n.Parent < 0 {
		return
	}
	p := s.base[sn.gen] + n.Parent
	pn := &s.nodes[p]
	if pn.endBy < 0 || sn.end > s.nodes[pn.endBy].end {
		pn.endBy = x
	}
	pn.childrenLeft--
	if pn.childrenLeft == 0 {
		if pd := s.def(p); pd.Status == Done {
			pn.end = ns(pd.End)
		} else {
			pn.end = max(pn.start, s.nodes[pn.endBy].end)
		}
		s.finish(p)
	}
}

func instant(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (s *sim) result(gi int, units []UnitForecast) GenForecast {
	g := &s.in.Gens[gi]
	b := s.base[gi]
	f := GenForecast{ID: g.ID, Deadline: g.Deadline, Units: units}
	last := int32(-1)
	end := ns(g.Start)
	for i := range g.Nodes {
		n, sn := &g.Nodes[i], &s.nodes[b+int32(i)]
		f.Units[i] = UnitForecast{Path: n.Path, Start: instant(sn.start), End: instant(sn.end), Skipped: n.Status == Skipped}
		if !n.Deadline.IsZero() {
			f.Units[i].Risk = Judge(n.Deadline, f.Units[i].End, s.in.Now, n.Status == Done || n.Status == Skipped)
		}
		if n.Parent < 0 && n.Status != Skipped && (last < 0 || sn.end > end) {
			last, end = b+int32(i), sn.end
		}
	}
	f.End = instant(max(end, s.now))
	if g.Ended {
		f.End = g.EndedAt
	}
	f.CriticalPath = s.critical(gi, last, f.Units)
	if !g.Deadline.IsZero() {
		f.Slack = g.Deadline.Sub(f.End)
	}
	f.Risk = Judge(g.Deadline, f.End, s.in.Now, g.Ended)
	return f
}

// critical walks back from the node that ends last along the links that
// decided each start, descending into nested jobnets through the unit that
// ended last.
func (s *sim) critical(gi int, last int32, units []UnitForecast) []string {
	b := s.base[gi]
	rev := s.scratch[:0]
	cur, viaParent := last, false
	for steps := 0; cur >= 0 && steps <= 2*len(units); steps++ {
		sn := &s.nodes[cur]
		if !viaParent && s.def(cur).Container && sn.endBy >= 0 && !units[sn.endBy-b].Skipped {
			cur = sn.endBy
			continue
		}
		rev = append(rev, cur)
		units[cur-b].Critical = true
		viaParent = sn.byParent
		cur = sn.by
	}
	s.scratch = rev
	out := make([]string, len(rev))
	for i, x := range rev {
		out[len(rev)-1-i] = s.def(x).Path
	}
	return out
}

// slotHeap holds the instants at which each slot of a pool is free.
type slotHeap struct{ t []int64 }

func newSlotHeap(n int) slotHeap { return slotHeap{t: make([]int64, n)} }

// take makes the earliest free slot busy until end.
func (h *slotHeap) take(end int64) {
	h.t[0] = end
	n := len(h.t)
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.t[r] < h.t[l] {
			m = r
		}
		if h.t[m] >= h.t[i] {
			return
		}
		h.t[i], h.t[m] = h.t[m], h.t[i]
		i = m
	}
}

// readyQueue orders queued jobs by ready time, then node order (generation
// order, then unit order), so the schedule is deterministic. Entries carry
// their key, so the heap does not reach into the nodes.
type readyQueue []queued

type queued struct {
	ready int64
	x     int32
}

func (a queued) less(b queued) bool { return a.ready < b.ready || a.ready == b.ready && a.x < b.x }

func (q *readyQueue) push(nodes []simNode, x int32) {
	*q = append(*q, queued{ready: nodes[x].ready, x: x})
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *readyQueue) pop(_ []simNode) int32 {
	h := *q
	top := h[0].x
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
