package jobnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// Normalized returns a deep copy of j in canonical form: values equal to
// their default are cleared (edge kind normal, end mode thresholds, retry on
// abnormal+failed_to_start, timeout end_as abnormal, eks mode pod and cleanup
// delete, rule period month, closed skip and max_shift 31), empty lists and
// maps are nil, set-like lists (weekdays, dates, retry outcomes) are sorted,
// units are in Topo order and edges follow their units. Two jobnets that
// mean the same have equal normalized forms.
func Normalized(j *Jobnet) *Jobnet {
	c := cloneJobnet(j)
	normalizeNet(&c.Net)
	for i := range c.Rules {
		normalizeRule(&c.Rules[i])
	}
	if len(c.Rules) == 0 {
		c.Rules = nil
	}
	if len(c.Params) == 0 {
		c.Params = nil
	}
	normalizeDelay(&c.Delay)
	return c
}

func cloneJobnet(j *Jobnet) *Jobnet {
	var c Jobnet
	deepCopy(reflect.ValueOf(&c).Elem(), reflect.ValueOf(j).Elem())
	return &c
}

// deepCopy copies src into dst (same type), allocating new pointers, slices
// and maps so that the copy shares no memory with src.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

func normalizeNet(n *Net) {
	for i := range n.Units {
		normalizeUnit(&n.Units[i])
	}
	if order, err := Topo(n); err == nil && len(order) == len(n.Units) {
		pos := make(map[string]int, len(order))
		for i, name := range order {
			pos[name] = i
		}
		sort.SliceStable(n.Units, func(a, b int) bool { return pos[n.Units[a].Name] < pos[n.Units[b].Name] })
		for i := range n.Edges {
			if n.Edges[i].Kind == EdgeNormal {
				n.Edges[i].Kind = ""
			}
		}
		sort.SliceStable(n.Edges, func(a, b int) bool {
			ea, eb := n.Edges[a], n.Edges[b]
			if pos[ea.From] != pos[eb.From] {
				return pos[ea.From] < pos[eb.From]
			}
			if pos[ea.To] != pos[eb.To] {
				return pos[ea.To] < pos[eb.To]
			}
			return ea.Kind < eb.Kind
		})
	} else {
		for i := range n.Edges {
			if n.Edges[i].Kind == EdgeNormal {
				n.Edges[i].Kind = ""
			}
		}
	}
	if len(n.Edges) == 0 {
		n.Edges = nil
	}
}

func normalizeUnit(u *Unit) {
	if u.Job != nil {
		normalizeJob(u.Job)
	}
	if u.Net != nil {
		normalizeNet(u.Net)
	}
	normalizeDelay(&u.Delay)
}

func normalizeDelay(d **DelayMonitor) {
	if *d != nil && (*d).Start == nil && (*d).End == nil && (*d).MaxDuration == 0 {
		*d = nil
	}
}

func normalizeJob(j *Job) {
	if len(j.Env) == 0 {
		j.Env = nil
	}
	if j.End.Mode == EndByThresholds {
		j.End.Mode = ""
	}
	if r := j.Retry; r != nil {
		slices.Sort(r.On)
		r.On = slices.Compact(r.On)
		if slices.Equal(r.On, []Outcome{OutcomeAbnormal, OutcomeFailedToStart}) || len(r.On) == 0 {
			r.On = nil
		}
	}
	if t := j.Timeout; t != nil && t.EndAs == "abnormal" {
		t.EndAs = ""
	}
	if e := j.EKS; e != nil {
		if e.Mode == "pod" {
			e.Mode = ""
		}
		if e.Cleanup == "delete" {
			e.Cleanup = ""
		}
		if e.Resources != nil && len(e.Resources.Requests) == 0 && len(e.Resources.Limits) == 0 {
			e.Resources = nil
		}
		if len(e.Env) == 0 {
			e.Env = nil
		}
		if len(e.EnvFrom) == 0 {
			e.EnvFrom = nil
		}
		if len(e.Volumes) == 0 {
			e.Volumes = nil
		}
		if len(e.VolumeMounts) == 0 {
			e.VolumeMounts = nil
		}
		if len(e.ImagePullSecrets) == 0 {
			e.ImagePullSecrets = nil
		}
	}
}

func normalizeRule(r *Rule) {
	if r.Period == PeriodMonth {
		r.Period = ""
	}
	if r.Closed == SubstituteSkip {
		r.Closed = ""
	}
	if r.MaxShift == 31 {
		r.MaxShift = 0
	}
	r.Weekdays = sortedSet(r.Weekdays)
	r.Dates = sortedSet(r.Dates)
	r.Exclude = sortedSet(r.Exclude)
	r.Start = sortedSet(r.Start)
	if len(r.ExclusiveWith) == 0 {
		r.ExclusiveWith = nil
	}
	if len(r.Except) == 0 {
		r.Except = nil
	} else {
		r.Except = slices.Clone(r.Except)
		for i := range r.Except {
			normalizeRule(&r.Except[i])
		}
	}
}

func sortedSet[T ~int | ~int32](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// NormalizedCalendar returns a copy of c in canonical form (base day 1 and
// month naming start cleared, weekdays and holiday sets sorted, overrides by
// date).
func NormalizedCalendar(c calendar.Definition) calendar.Definition {
	c.ClosedWeekdays = sortedSet(slices.Clone(c.ClosedWeekdays))
	if len(c.HolidaySets) == 0 {
		c.HolidaySets = nil
	} else {
		c.HolidaySets = slices.Compact(slices.Sorted(slices.Values(c.HolidaySets)))
	}
	if c.BaseDay == 1 {
		c.BaseDay = 0
	}
	if c.MonthNaming == calendar.MonthNamingStart {
		c.MonthNaming = ""
	}
	if len(c.Overrides) == 0 {
		c.Overrides = nil
	} else {
		c.Overrides = slices.Clone(c.Overrides)
		sort.SliceStable(c.Overrides, func(a, b int) bool { return c.Overrides[a].Date < c.Overrides[b].Date })
	}
	return c
}

// Canonical returns the canonical JSON of j: its normalized form, keys in a
// fixed order, no insignificant space. Equal meaning gives equal bytes.
func Canonical(j *Jobnet) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Normalized(j)); err != nil {
		return nil, fmt.Errorf("canonical form of jobnet %q: %w", j.Path(), err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Hash returns the hex sha256 of Canonical(j). The store compares it to tell
// whether an apply makes a new version.
func Hash(j *Jobnet) string {
	data, err := Canonical(j)
	if err != nil {
		// Canonical cannot fail for values that cloned; keep the hash defined.
		data = []byte(err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
