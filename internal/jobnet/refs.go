package jobnet

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
)

// Reference is a place in a jobnet definition that names a root jobnet: a
// wait unit or a schedule rule's exclusive_with.
type Reference struct {
	// From is the path (folder/name) of the jobnet that holds the reference.
	From string
	// Where is the place in it: "units[sub/w].wait" or "schedule[1].exclusive_with".
	Where string
	// Target is the path of the jobnet named.
	Target string
	// Bare is true when the reference names the target without its folder
	// (it resolves in the referring jobnet's folder).
	Bare bool
}

func (r Reference) String() string { return fmt.Sprintf("%s %s → %s", r.From, r.Where, r.Target) }

// ResolveJobnet returns the path a jobnet reference made from folder names:
// "folder/name" as is, a bare "name" in folder.
func ResolveJobnet(folder, ref string) (path string, bare bool) {
	if strings.Contains(ref, "/") {
		return ref, false
	}
	return folder + "/" + ref, true
}

// References lists every reference of the jobnets to a jobnet that match
// reports true for (given its path), ordered by referring jobnet and place.
func References(jobnets []*Jobnet, match func(target string) bool) []Reference {
	var out []Reference
	for _, j := range jobnets {
		add := func(where, ref string) {
			if ref == "" {
				return
			}
			t, bare := ResolveJobnet(j.Folder, ref)
			if match(t) {
				out = append(out, Reference{From: j.Path(), Where: where, Target: t, Bare: bare})
			}
		}
		Walk(&j.Net, func(path string, u *Unit) {
			if u.Wait != nil {
				add("units["+path+"].wait", u.Wait.Jobnet)
			}
		})
		for i, r := range j.Rules {
			for _, x := range r.ExclusiveWith {
				add(fmt.Sprintf("schedule[%d].exclusive_with", i), x)
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].From < out[b].From })
	return out
}

// Relocated returns a deep copy of j under folder/name. When the folder
// changes and keepBare is false, the references j makes by bare name (which
// resolve in its own folder) are written as folder/name of the old folder,
// so they keep naming the same jobnets; keepBare leaves them bare, for a
// whole folder moved together.
func Relocated(j *Jobnet, folder, name string, keepBare bool) (*Jobnet, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("copy jobnet %s: %w", j.Path(), err)
	}
	var c Jobnet
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("copy jobnet %s: %w", j.Path(), err)
	}
	old := j.Folder
	c.Folder, c.Name = folder, name
	if folder == old || keepBare {
		return &c, nil
	}
	qualify := func(ref string) string {
		if ref == "" || strings.Contains(ref, "/") {
			return ref
		}
		return old + "/" + ref
	}
	Walk(&c.Net, func(_ string, u *Unit) {
		if u.Wait != nil {
			u.Wait.Jobnet = qualify(u.Wait.Jobnet)
		}
	})
	for i := range c.Rules {
		for k, x := range c.Rules[i].ExclusiveWith {
			c.Rules[i].ExclusiveWith[k] = qualify(x)
		}
	}
	return &c, nil
}

// ValidName reports whether s may name a unit, jobnet, folder, calendar or
// pool: 1-64 of A-Z a-z 0-9 _ . - and not "." or "..".
func ValidName(s string) bool { return validName(s) }

var unsafeRun = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// SafeName turns a name people write (給与計算, "日次 load") into a name
// Koyomi accepts: kept as is when valid, otherwise the ASCII letters,
// digits, _ . - that remain plus a hash of the whole, so distinct names stay
// distinct ("日次_load" → "load-" and 8 hex digits), or "u-" and the hash
// when no ASCII remains ("給与計算" → "u-ed03c9af").
func SafeName(s string) string {
	if validName(s) {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	sum := fmt.Sprintf("%08x", h.Sum32())
	clean := strings.Trim(unsafeRun.ReplaceAllString(s, "_"), "_")
	if strings.Trim(clean, "_.-") == "" {
		return "u-" + sum
	}
	if len(clean) > 64-9 {
		clean = clean[:64-9]
	}
	return clean + "-" + sum
}
