// Package fault holds the few error categories every Koyomi package's errors
// unwrap to, and Problems, the list of validation findings with their paths.
// The web layer maps the categories to HTTP status codes in one place; the CLI
// maps them to exit codes.
package fault

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The categories.
var (
	// ErrInvalid: the input or definition is wrong; fix it and retry.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: the named thing does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the thing is not in a state that allows the request
	// (a guarded update found another state, a duplicate name).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the caller's role does not allow the request.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no valid session or token.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// Problem is one validation finding: where it is and what is wrong.
type Problem struct {
	// Path names the place, e.g. `jobnets[2].units[4].edges[0]` or `file.yaml:12:3`.
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is a list of findings; as an error it unwraps to ErrInvalid.
type Problems []Problem

// Add appends a finding.
func (ps *Problems) Add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Prefix returns the findings with prefix prepended to every path.
func (ps Problems) Prefix(prefix string) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		switch {
		case p.Path == "":
			p.Path = prefix
		case strings.HasPrefix(p.Path, "["):
			p.Path = prefix + p.Path
		default:
			p.Path = prefix + "." + p.Path
		}
		out[i] = p
	}
	return out
}

// Err returns nil when there are no findings, else the Problems as an error.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Sorted returns the findings ordered by path, for stable output.
func (ps Problems) Sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Unwrap makes Problems match ErrInvalid.
func (ps Problems) Unwrap() error { return ErrInvalid }

// AsProblems returns the findings inside err, if any.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	return nil, false
}
