package jobnet

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ChangeOp says how a thing changed between two versions.
type ChangeOp string

const (
	// ChangeAdded: only the new version has it.
	ChangeAdded ChangeOp = "added"
	// ChangeRemoved: only the old version has it.
	ChangeRemoved ChangeOp = "removed"
	// ChangeModified: both have it with different values.
	ChangeModified ChangeOp = "changed"
)

// Change is one difference between two versions of a jobnet. Path names
// the place like validation paths do, with nested units by their unit path:
// `units[sub/extract].job.retry.count`, `units[sub].net.edges`,
// `schedule[payday].day`, `calendar`. Old and New are the values as short
// text ("" when absent).
type Change struct {
	Op   ChangeOp `json:"op"`
	Path string   `json:"path"`
	Old  string   `json:"old,omitempty"`
	New  string   `json:"new,omitempty"`
}

func (c Change) String() string {
	switch c.Op {
	case ChangeAdded:
		return fmt.Sprintf("added %s: %s", c.Path, c.New)
	case ChangeRemoved:
		return fmt.Sprintf("removed %s: %s", c.Path, c.Old)
	}
	return fmt.Sprintf("changed %s: %s → %s", c.Path, c.Old, c.New)
}

// Diff lists the differences between two versions of a jobnet, after
// normalizing both (so reordering units or spelling out a default is no
// change): jobnet fields, units added and removed (by unit path), changed
// unit fields, edges added and removed per net, and schedule rules added,
// removed or changed (by rule name). The order is jobnet fields, units,
// edges, rules, each sorted by path.
func Diff(old, new *Jobnet) []Change {
	a, b := Normalized(old), Normalized(new)
	var out []Change

	out = append(out, diffFlat("", jobnetFields(a), jobnetFields(b))...)

	ua, ub := unitsByPath(a), unitsByPath(b)
	var unitChanges []Change
	for _, p := range unionKeys(ua, ub) {
		x, inA := ua[p]
		y, inB := ub[p]
		up := "units[" + p + "]"
		switch {
		case !inA:
			unitChanges = append(unitChanges, Change{Op: ChangeAdded, Path: up, New: string(y.Kind)})
		case !inB:
			unitChanges = append(unitChanges, Change{Op: ChangeRemoved, Path: up, Old: string(x.Kind)})
		default:
			unitChanges = append(unitChanges, diffFlat(up, unitFields(x), unitFields(y))...)
		}
	}
	out = append(out, unitChanges...)

	ea, eb := edgesByNet(a), edgesByNet(b)
	for _, np := range unionKeys(ea, eb) {
		p := "edges"
		if np != "" {
			p = "units[" + np + "].net.edges"
		}
		for _, e := range eb[np] {
			if !slices.Contains(ea[np], e) {
				out = append(out, Change{Op: ChangeAdded, Path: p, New: e})
			}
		}
		for _, e := range ea[np] {
			if !slices.Contains(eb[np], e) {
				out = append(out, Change{Op: ChangeRemoved, Path: p, Old: e})
			}
		}
	}

	ra, rb := rulesByName(a), rulesByName(b)
	for _, name := range unionKeys(ra, rb) {
		x, inA := ra[name]
		y, inB := rb[name]
		rp := "schedule[" + name + "]"
		switch {
		case !inA:
			out = append(out, Change{Op: ChangeAdded, Path: rp, New: string(y.Kind)})
		case !inB:
			out = append(out, Change{Op: ChangeRemoved, Path: rp, Old: string(x.Kind)})
		default:
			out = append(out, diffFlat(rp, flatten(x), flatten(y))...)
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func jobnetFields(j *Jobnet) map[string]string {
	c := *j
	c.Net = Net{}
	c.Rules = nil
	m := flatten(c)
	delete(m, "units")
	return m
}

func unitsByPath(j *Jobnet) map[string]*Unit {
	m := map[string]*Unit{}
	Walk(&j.Net, func(p string, u *Unit) { m[p] = u })
	return m
}

func unitFields(u *Unit) map[string]string {
	c := *u
	c.Net = nil
	return flatten(c)
}

func edgeText(e Edge) string {
	s := e.From + " → " + e.To
	if k := e.EffectiveKind(); k != EdgeNormal {
		s += " (" + string(k) + ")"
	}
	return s
}

func edgesByNet(j *Jobnet) map[string][]string {
	m := map[string][]string{}
	add := func(p string, n *Net) {
		for _, e := range n.Edges {
			m[p] = append(m[p], edgeText(e))
		}
	}
	add("", &j.Net)
	Walk(&j.Net, func(p string, u *Unit) {
		if u.Net != nil {
			add(p, u.Net)
		}
	})
	return m
}

func rulesByName(j *Jobnet) map[string]Rule {
	m := map[string]Rule{}
	for i, r := range j.Rules {
		m[EffectiveRuleName(r, i)] = r
	}
	return m
}

// flatten maps the JSON form of v to leaf paths ("job.retry.count") and
// their JSON text. Lists of scalars are one leaf; lists of objects are
// indexed ("capacity_providers[0].weight").
func flatten(v any) map[string]string {
	data, err := json.Marshal(v)
	out := map[string]string{}
	if err != nil {
		out[""] = err.Error()
		return out
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		out[""] = err.Error()
		return out
	}
	flattenInto(out, "", tree)
	return out
}

func flattenInto(out map[string]string, p string, v any) {
	join := func(k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flattenInto(out, join(k), x)
		}
	case []any:
		objects := false
		for _, x := range t {
			if _, ok := x.(map[string]any); ok {
				objects = true
			}
		}
		if !objects {
			out[p] = leafText(t)
			return
		}
		for i, x := range t {
			flattenInto(out, fmt.Sprintf("%s[%d]", p, i), x)
		}
	case nil:
	default:
		out[p] = leafText(t)
	}
}

func leafText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	data, _ := json.Marshal(v)
	return strings.ReplaceAll(string(data), `","`, `", "`)
}

func diffFlat(prefix string, a, b map[string]string) []Change {
	var out []Change
	for _, k := range unionKeys(a, b) {
		x, inA := a[k]
		y, inB := b[k]
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		switch {
		case !inA:
			out = append(out, Change{Op: ChangeAdded, Path: p, New: y})
		case !inB:
			out = append(out, Change{Op: ChangeRemoved, Path: p, Old: x})
		case x != y:
			out = append(out, Change{Op: ChangeModified, Path: p, Old: x, New: y})
		}
	}
	return out
}
