package jobnet

import (
	"fmt"
	"sort"
	"strings"
)

// PathSep separates the names of nested units in a unit path ("sub/extract").
const PathSep = "/"

// Walk visits every unit of net depth-first in definition order, nested units
// right after the jobnet unit that holds them. path is the unit's name
// prefixed with the names of the jobnet units around it ("sub/extract").
func Walk(net *Net, fn func(path string, u *Unit)) {
	walk(net, "", fn)
}

func walk(net *Net, prefix string, fn func(string, *Unit)) {
	if net == nil {
		return
	}
	for i := range net.Units {
		u := &net.Units[i]
		p := prefix + u.Name
		fn(p, u)
		if u.Net != nil {
			walk(u.Net, p+PathSep, fn)
		}
	}
}

// Titles returns the titles of net's units that have one, by unit path.
func Titles(net *Net) map[string]string {
	out := map[string]string{}
	Walk(net, func(path string, u *Unit) {
		if u.Title != "" {
			out[path] = u.Title
		}
	})
	return out
}

// CycleError reports the units of a cycle in edge order; the first unit is
// repeated at the end ("cycle: extract → load → extract").
type CycleError struct {
	Units []string
}

func (e *CycleError) Error() string {
	return "cycle: " + strings.Join(e.Units, " → ")
}

// Topo returns the names of net's units (not nested ones) in a topological
// order of its edges. Among units that are ready at the same time the
// definition order decides, so the order is stable and matches how a designer
// reads the net. Edges naming unknown units are ignored. A cycle yields a
// *CycleError naming its units.
func Topo(net *Net) ([]string, error) {
	if net == nil {
		return nil, nil
	}
	index := make(map[string]int, len(net.Units))
	for i, u := range net.Units {
		if _, dup := index[u.Name]; !dup {
			index[u.Name] = i
		}
	}
	n := len(net.Units)
	succ := make([][]int, n)
	indeg := make([]int, n)
	seen := make(map[[2]int]bool, len(net.Edges))
	for _, e := range net.Edges {
		f, okf := index[e.From]
		t, okt := index[e.To]
		if !okf || !okt || seen[[2]int{f, t}] {
			continue
		}
		seen[[2]int{f, t}] = true
		succ[f] = append(succ[f], t)
		indeg[t]++
	}
	for i := range succ {
		sort.Ints(succ[i])
	}
	// ready is kept sorted by definition index: a small sorted slice beats a
	// heap for nets of a few hundred units.
	var ready []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 && index[net.Units[i].Name] == i {
			ready = append(ready, i)
		}
	}
	order := make([]string, 0, n)
	for len(ready) > 0 {
		cur := ready[0]
		ready = ready[1:]
		order = append(order, net.Units[cur].Name)
		for _, t := range succ[cur] {
			indeg[t]--
			if indeg[t] == 0 {
				k := sort.SearchInts(ready, t)
				ready = append(ready, 0)
				copy(ready[k+1:], ready[k:])
				ready[k] = t
			}
		}
	}
	if len(order) == len(index) {
		return order, nil
	}
	return nil, &CycleError{Units: findCycle(net, index, succ, indeg)}
}

// findCycle returns one cycle among the units Kahn's algorithm could not
// order (indeg > 0), starting at the first such unit in definition order.
func findCycle(net *Net, index map[string]int, succ [][]int, indeg []int) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(net.Units))
	var stack []int
	var cycle []string
	var dfs func(v int) bool
	dfs = func(v int) bool {
		color[v] = grey
		stack = append(stack, v)
		for _, w := range succ[v] {
			if indeg[w] == 0 {
				continue
			}
			if color[w] == grey {
				start := 0
				for i, s := range stack {
					if s == w {
						start = i
						break
					}
				}
				for _, s := range stack[start:] {
					cycle = append(cycle, net.Units[s].Name)
				}
				cycle = append(cycle, net.Units[w].Name)
				return true
			}
			if color[w] == white && dfs(w) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		color[v] = black
		return false
	}
	for i := range net.Units {
		if indeg[i] > 0 && color[i] == white && index[net.Units[i].Name] == i && dfs(i) {
			return cycle
		}
	}
	return nil
}

// FindUnit returns the unit at a slash-separated path ("sub/extract").
func FindUnit(net *Net, path string) (*Unit, error) {
	cur := net
	parts := strings.Split(path, PathSep)
	for i, name := range parts {
		var found *Unit
		if cur != nil {
			for k := range cur.Units {
				if cur.Units[k].Name == name {
					found = &cur.Units[k]
					break
				}
			}
		}
		if found == nil {
			return nil, fmt.Errorf("unit %q: no unit %q", path, strings.Join(parts[:i+1], PathSep))
		}
		if i == len(parts)-1 {
			return found, nil
		}
		cur = found.Net
	}
	return nil, fmt.Errorf("unit %q: empty path", path)
}
