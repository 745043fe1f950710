package jp1

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Severity classifies how a JP1 construct came over to Koyomi.
type Severity string

const (
	// Mapped: Koyomi does the same.
	Mapped Severity = "mapped"
	// Approximated: Koyomi does something close; the message says what differs.
	Approximated Severity = "approximated"
	// Unmapped: Koyomi has no equivalent; the construct is not carried over
	// (or only as a held placeholder) and the message says so.
	Unmapped Severity = "unmapped"
)

// Finding is one construct of the input and what became of it.
type Finding struct {
	Severity Severity
	File     string
	Line     int
	// Unit is the JP1 path of the unit the construct belongs to.
	Unit string
	// Param is the construct as written (key=value, shortened).
	Param   string
	Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s %s: %s: %s", f.File, f.Line, f.Severity, f.Unit, f.Param, f.Message)
}

// Report lists every finding and counts them.
type Report struct {
	Findings []Finding
}

// Count returns the number of findings of a severity.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// Of returns the findings of a severity, in file and line order.
func (r *Report) Of(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Write prints the approximated and unmapped findings (all of them with
// verbose) in file and line order, then the counts.
func (r *Report) Write(w io.Writer, verbose bool) {
	fs := append([]Finding(nil), r.Findings...)
	sort.SliceStable(fs, func(i, k int) bool {
		if fs[i].File != fs[k].File {
			return fs[i].File < fs[k].File
		}
		return fs[i].Line < fs[k].Line
	})
	for _, f := range fs {
		if f.Severity == Mapped && !verbose {
			continue
		}
		fmt.Fprintln(w, f.String())
	}
	fmt.Fprintf(w, "mapped: %d  approximated: %d  unmapped: %d\n", r.Count(Mapped), r.Count(Approximated), r.Count(Unmapped))
}

// shorten keeps a construct readable in one line.
func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
