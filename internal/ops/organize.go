package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Copy, rename, move and delete of jobnets and folders. A rename or move
// keeps the jobnet itself: its versions (the move is one more) and its runs,
// which are listed under the new path. A copy is a new jobnet at version 1
// without runs. None of them breaks a reference: while another jobnet waits
// on the jobnet or names it in exclusive_with, or an alert rule is scoped to
// it, a rename, move or delete is refused with the list of those dependents.

// Dependent is something that names a jobnet or folder.
type Dependent struct {
	// Kind is "jobnet" or "alert_rule".
	Kind string `json:"kind"`
	// Name is the referring jobnet's path or the alert rule's name.
	Name string `json:"name"`
	// Where is the place in it ("units[w].wait", "schedule[0].exclusive_with", "scope").
	Where string `json:"where"`
	// Target is what it names.
	Target string `json:"target"`
	// RuleID is the alert rule's id.
	RuleID int64 `json:"rule_id,omitempty"`
}

func (d Dependent) String() string {
	if d.Kind == "alert_rule" {
		return fmt.Sprintf("alert rule %q (scope %s)", d.Name, d.Target)
	}
	return fmt.Sprintf("jobnet %s %s (names %s)", d.Name, d.Where, d.Target)
}

// DependentsError refuses an operation that would leave references
// dangling; it unwraps to fault.ErrConflict.
type DependentsError struct {
	Op         string
	Target     string
	Dependents []Dependent
}

func (e *DependentsError) Error() string {
	parts := make([]string, len(e.Dependents))
	for i, d := range e.Dependents {
		parts[i] = d.String()
	}
	return fmt.Sprintf("cannot %s %s: %d definition(s) depend on it: %s", e.Op, e.Target, len(e.Dependents), strings.Join(parts, "; "))
}

func (e *DependentsError) Unwrap() error { return fault.ErrConflict }

// SplitJobnetPath splits "folder/name", checking both names.
func SplitJobnetPath(p string) (folder, name string, err error) {
	folder, name, ok := strings.Cut(p, "/")
	if !ok || !jobnet.ValidName(folder) || !jobnet.ValidName(name) {
		return "", "", fmt.Errorf("jobnet %q: want folder/name of A-Z a-z 0-9 _ . -: %w", p, fault.ErrInvalid)
	}
	return folder, name, nil
}

func checkFolderName(n string) error {
	if !jobnet.ValidName(n) {
		return fmt.Errorf("folder %q: want 1-64 of A-Z a-z 0-9 _ . -: %w", n, fault.ErrInvalid)
	}
	return nil
}

// dependents lists what names a jobnet that match reports true for, from
// jobnets for which from reports true, and alert rules whose scope lies
// under one of scopes.
func (s *Service) dependents(ctx context.Context, match func(target string) bool, from func(r jobnet.Reference) bool, scopes ...string) ([]Dependent, error) {
	vs, err := s.store.CurrentJobnets(ctx, "")
	if err != nil {
		return nil, err
	}
	js := make([]*jobnet.Jobnet, len(vs))
	for i, v := range vs {
		js[i] = v.Jobnet
	}
	var out []Dependent
	for _, r := range jobnet.References(js, match) {
		if from(r) {
			out = append(out, Dependent{Kind: "jobnet", Name: r.From, Where: r.Where, Target: r.Target})
		}
	}
	rules, err := s.store.AlertRules(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		for _, sc := range scopes {
			if r.Scope == sc || strings.HasPrefix(r.Scope, sc+"/") {
				out = append(out, Dependent{Kind: "alert_rule", Name: r.Name, Where: "scope", Target: r.Scope, RuleID: r.ID})
				break
			}
		}
	}
	return out, nil
}

// JobnetDependents lists what names the jobnet folder/name: other jobnets'
// wait units and exclusive_with, and alert rules scoped to it.
func (s *Service) JobnetDependents(ctx context.Context, path string) ([]Dependent, error) {
	if _, _, err := SplitJobnetPath(path); err != nil {
		return nil, err
	}
	return s.dependents(ctx, func(t string) bool { return t == path }, func(r jobnet.Reference) bool { return r.From != path }, path)
}

// FolderDependents lists what names a jobnet of the folder from outside it
// (or from inside it by folder/name), and alert rules scoped to the folder.
func (s *Service) FolderDependents(ctx context.Context, folder string) ([]Dependent, error) {
	in := func(p string) bool { return strings.HasPrefix(p, folder+"/") }
	return s.dependents(ctx, in, func(r jobnet.Reference) bool { return !in(r.From) || !r.Bare }, folder)
}

func (s *Service) relocate(ctx context.Context, a Actor, op, from, to string) (store.JobnetVersion, *jobnet.Jobnet, error) {
	if !canDesign(a) {
		return store.JobnetVersion{}, nil, fmt.Errorf("%s jobnet: %w", op, fault.ErrForbidden)
	}
	ff, fn, err := SplitJobnetPath(from)
	if err != nil {
		return store.JobnetVersion{}, nil, err
	}
	tf, tn, err := SplitJobnetPath(to)
	if err != nil {
		return store.JobnetVersion{}, nil, err
	}
	if from == to {
		return store.JobnetVersion{}, nil, fmt.Errorf("%s jobnet %s: the new path is the same: %w", op, from, fault.ErrInvalid)
	}
	cur, err := s.store.JobnetByPath(ctx, ff, fn, 0)
	if err != nil {
		return store.JobnetVersion{}, nil, err
	}
	if _, err := s.store.JobnetByPath(ctx, tf, tn, 0); err == nil {
		return store.JobnetVersion{}, nil, fmt.Errorf("%s jobnet %s to %s: a jobnet %s exists already: %w", op, from, to, to, fault.ErrConflict)
	}
	j, err := jobnet.Relocated(cur.Jobnet, tf, tn, false)
	if err != nil {
		return store.JobnetVersion{}, nil, err
	}
	if err := s.validateOne(ctx, j); err != nil {
		return store.JobnetVersion{}, nil, fmt.Errorf("%s jobnet %s to %s: %w", op, from, to, err)
	}
	return cur, jobnet.Normalized(j), nil
}

// validateOne validates one jobnet against the database.
func (s *Service) validateOne(ctx context.Context, js ...*jobnet.Jobnet) error {
	known, err := s.Known(ctx)
	if err != nil {
		return err
	}
	b := &jobnet.Bundle{}
	for _, j := range js {
		b.Jobnets = append(b.Jobnets, *j)
	}
	var ps fault.Problems
	for _, p := range jobnet.Validate(b, known) {
		// A jobnet created empty and not drawn yet may be copied and moved.
		empty := false
		for _, j := range js {
			if emptyNetProblem("jobnets["+j.Path()+"]", p) {
				empty = true
			}
		}
		if !empty {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return ps.Sorted()
	}
	return nil
}

// CopyJobnet copies the current version of from to a new jobnet to
// (folder/name) at version 1; runs are not copied.
func (s *Service) CopyJobnet(ctx context.Context, a Actor, from, to string) (int, error) {
	_, j, err := s.relocate(ctx, a, "copy", from, to)
	if err != nil {
		return 0, err
	}
	if _, err := s.store.ApplyDefinitions(ctx, store.Definitions{Jobnets: []*jobnet.Jobnet{j}}, a.Username); err != nil {
		return 0, err
	}
	if err := s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "copy", Target: "jobnet/" + to, Detail: "copied from " + from}); err != nil {
		return 0, err
	}
	return 1, nil
}

// MoveJobnet renames a jobnet or moves it to another folder (to is the new
// folder/name) and returns its new version. It is refused while something
// names the jobnet (see JobnetDependents).
func (s *Service) MoveJobnet(ctx context.Context, a Actor, from, to string) (int, error) {
	cur, j, err := s.relocate(ctx, a, "move", from, to)
	if err != nil {
		return 0, err
	}
	deps, err := s.JobnetDependents(ctx, from)
	if err != nil {
		return 0, err
	}
	if len(deps) > 0 {
		return 0, &DependentsError{Op: "rename or move jobnet", Target: from, Dependents: deps}
	}
	ff, fn, _ := SplitJobnetPath(from)
	return s.store.MoveJobnet(ctx, store.JobnetMove{Folder: ff, Name: fn, Expect: cur.Version, Jobnet: j},
		store.AuditEntry{Actor: a.Username, Action: "move", Target: "jobnet/" + to, Detail: fmt.Sprintf("from %s (version %d; runs kept)", from, cur.Version+1)})
}

// DeleteJobnet deletes a jobnet and returns the ids of its generations that
// had not started (now not executed). Its versions and past runs stay. It
// is refused while something names it or a generation of it runs.
func (s *Service) DeleteJobnet(ctx context.Context, a Actor, path string) ([]string, error) {
	if !canDesign(a) {
		return nil, fmt.Errorf("delete jobnet: %w", fault.ErrForbidden)
	}
	f, n, err := SplitJobnetPath(path)
	if err != nil {
		return nil, err
	}
	deps, err := s.JobnetDependents(ctx, path)
	if err != nil {
		return nil, err
	}
	if len(deps) > 0 {
		return nil, &DependentsError{Op: "delete jobnet", Target: path, Dependents: deps}
	}
	return s.store.DeleteJobnet(ctx, f, n, store.AuditEntry{Actor: a.Username, Action: "delete", Target: "jobnet/" + path, Detail: "deleted; versions and past runs kept"})
}

// CopyFolder copies a folder and the current version of each of its
// jobnets into a new folder; references between them by bare name then
// name the copies.
func (s *Service) CopyFolder(ctx context.Context, a Actor, from, to string) (int, error) {
	f, moved, err := s.folderMoves(ctx, a, "copy", from, to)
	if err != nil {
		return 0, err
	}
	defs := store.Definitions{Folders: []jobnet.Folder{f}}
	for _, m := range moved {
		defs.Jobnets = append(defs.Jobnets, m.Jobnet)
	}
	if _, err := s.store.ApplyDefinitions(ctx, defs, a.Username); err != nil {
		return 0, err
	}
	if err := s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "copy", Target: "folder/" + to, Detail: fmt.Sprintf("copied from %s with %d jobnet(s)", from, len(moved))}); err != nil {
		return 0, err
	}
	return len(moved), nil
}

// RenameFolder renames a folder with its jobnets (each keeps its versions
// and runs). It is refused while something outside the folder names one of
// its jobnets or an alert rule is scoped to it.
func (s *Service) RenameFolder(ctx context.Context, a Actor, from, to string) (int, error) {
	f, moves, err := s.folderMoves(ctx, a, "rename", from, to)
	if err != nil {
		return 0, err
	}
	deps, err := s.FolderDependents(ctx, from)
	if err != nil {
		return 0, err
	}
	if len(deps) > 0 {
		return 0, &DependentsError{Op: "rename folder", Target: from, Dependents: deps}
	}
	err = s.store.RenameFolder(ctx, from, f, moves, store.AuditEntry{Actor: a.Username, Action: "move", Target: "folder/" + to,
		Detail: fmt.Sprintf("renamed from %s with %d jobnet(s); runs kept", from, len(moves))})
	return len(moves), err
}

func (s *Service) folderMoves(ctx context.Context, a Actor, op, from, to string) (jobnet.Folder, []store.JobnetMove, error) {
	if !canDesign(a) {
		return jobnet.Folder{}, nil, fmt.Errorf("%s folder: %w", op, fault.ErrForbidden)
	}
	if err := checkFolderName(from); err != nil {
		return jobnet.Folder{}, nil, err
	}
	if err := checkFolderName(to); err != nil {
		return jobnet.Folder{}, nil, err
	}
	if from == to {
		return jobnet.Folder{}, nil, fmt.Errorf("%s folder %s: the new name is the same: %w", op, from, fault.ErrInvalid)
	}
	src, err := s.store.Folder(ctx, from)
	if err != nil {
		return jobnet.Folder{}, nil, err
	}
	if _, err := s.store.Folder(ctx, to); err == nil {
		return jobnet.Folder{}, nil, fmt.Errorf("%s folder %s to %s: a folder %s exists already: %w", op, from, to, to, fault.ErrConflict)
	}
	vs, err := s.store.CurrentJobnets(ctx, from)
	if err != nil {
		return jobnet.Folder{}, nil, err
	}
	dst := jobnet.Folder{Name: to, Description: src.Description, Calendar: src.Calendar}
	moves := make([]store.JobnetMove, 0, len(vs))
	known, err := s.Known(ctx)
	if err != nil {
		return jobnet.Folder{}, nil, err
	}
	known.Folders[to] = dst.Calendar
	b := &jobnet.Bundle{Folders: []jobnet.Folder{dst}}
	for _, v := range vs {
		j, err := jobnet.Relocated(v.Jobnet, to, v.Jobnet.Name, true)
		if err != nil {
			return jobnet.Folder{}, nil, err
		}
		j = jobnet.Normalized(j)
		b.Jobnets = append(b.Jobnets, *j)
		moves = append(moves, store.JobnetMove{Folder: from, Name: v.Jobnet.Name, Expect: v.Version, Jobnet: j})
	}
	var ps fault.Problems
	for _, p := range jobnet.Validate(b, known) {
		if !strings.HasSuffix(p.Path, ".units") || !strings.Contains(p.Message, "at least one unit") {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return jobnet.Folder{}, nil, fmt.Errorf("%s folder %s to %s: %w", op, from, to, ps.Sorted())
	}
	return dst, moves, nil
}

// DeleteFolder deletes a folder that holds no jobnet. It is refused while
// an alert rule is scoped to it.
func (s *Service) DeleteFolder(ctx context.Context, a Actor, name string) error {
	if !canDesign(a) {
		return fmt.Errorf("delete folder: %w", fault.ErrForbidden)
	}
	if err := checkFolderName(name); err != nil {
		return err
	}
	deps, err := s.FolderDependents(ctx, name)
	if err != nil {
		return err
	}
	if len(deps) > 0 {
		return &DependentsError{Op: "delete folder", Target: name, Dependents: deps}
	}
	return s.store.DeleteFolder(ctx, name, store.AuditEntry{Actor: a.Username, Action: "delete", Target: "folder/" + name, Detail: "deleted"})
}

// JobnetTitles returns the display names of the jobnets that have one, by path.
func (s *Service) JobnetTitles(ctx context.Context) (map[string]string, error) {
	return s.store.JobnetTitles(ctx)
}
