package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/web"
)

const jobnetUsage = `jobnet SUBCOMMAND [flags]

  copy F/N F2/N2        copy the current version to a new jobnet (version 1, no runs)
  rename F/N NAME       rename it in its folder; it keeps its versions and runs
  move F/N FOLDER[/NAME] move it to another folder (optionally renamed); it keeps its versions and runs
  delete F/N            delete it; versions and past runs are kept, generations not started will not run
  dependents F/N        list what names it (wait units, exclusive_with, alert rules)

Rename, move and delete are refused while something names the jobnet, and list what does.
Every subcommand takes --database-url and --data-dir, or --server URL and --token
(env KOYOMI_SERVER, KOYOMI_TOKEN) to use a server's REST API instead.`

const folderUsage = `folder SUBCOMMAND [flags]

  copy F NEW            copy the folder with a copy of each of its jobnets
  rename F NEW          rename it; its jobnets move along with their versions and runs
  delete F              delete a folder without jobnets
  dependents F          list what names its jobnets from outside it, and alert rules scoped to it

Every subcommand takes --database-url and --data-dir, or --server URL and --token
(env KOYOMI_SERVER, KOYOMI_TOKEN) to use a server's REST API instead.`

// organizer does the operations, on the database or through a server.
type organizer interface {
	copyJobnet(ctx context.Context, from, to string) (int, error)
	moveJobnet(ctx context.Context, from, to string) (int, error)
	deleteJobnet(ctx context.Context, path string) ([]string, error)
	jobnetDependents(ctx context.Context, path string) ([]ops.Dependent, error)
	copyFolder(ctx context.Context, from, to string) (int, error)
	renameFolder(ctx context.Context, from, to string) (int, error)
	deleteFolder(ctx context.Context, name string) error
	folderDependents(ctx context.Context, name string) ([]ops.Dependent, error)
}

type localOrganizer struct {
	svc *ops.Service
	a   ops.Actor
}

func (l localOrganizer) copyJobnet(ctx context.Context, from, to string) (int, error) {
	return l.svc.CopyJobnet(ctx, l.a, from, to)
}
func (l localOrganizer) moveJobnet(ctx context.Context, from, to string) (int, error) {
	return l.svc.MoveJobnet(ctx, l.a, from, to)
}
func (l localOrganizer) deleteJobnet(ctx context.Context, p string) ([]string, error) {
	return l.svc.DeleteJobnet(ctx, l.a, p)
}
func (l localOrganizer) jobnetDependents(ctx context.Context, p string) ([]ops.Dependent, error) {
	return l.svc.JobnetDependents(ctx, p)
}
func (l localOrganizer) copyFolder(ctx context.Context, from, to string) (int, error) {
	return l.svc.CopyFolder(ctx, l.a, from, to)
}
func (l localOrganizer) renameFolder(ctx context.Context, from, to string) (int, error) {
	return l.svc.RenameFolder(ctx, l.a, from, to)
}
func (l localOrganizer) deleteFolder(ctx context.Context, n string) error {
	return l.svc.DeleteFolder(ctx, l.a, n)
}
func (l localOrganizer) folderDependents(ctx context.Context, n string) ([]ops.Dependent, error) {
	return l.svc.FolderDependents(ctx, n)
}

type remoteOrganizer struct{ c *apiClient }

// jobnetURL is /api/v1/jobnets/F/N with both names escaped.
func jobnetURL(path string) (string, error) {
	f, n, err := ops.SplitJobnetPath(path)
	if err != nil {
		return "", err
	}
	return "/api/v1/jobnets/" + url.PathEscape(f) + "/" + url.PathEscape(n), nil
}

func (r remoteOrganizer) relocate(ctx context.Context, u, to string) (web.APIRelocated, error) {
	var out web.APIRelocated
	err := r.c.do(ctx, http.MethodPost, u, web.APIRelocate{To: to}, "", &out)
	return out, err
}

func (r remoteOrganizer) copyJobnet(ctx context.Context, from, to string) (int, error) {
	u, err := jobnetURL(from)
	if err != nil {
		return 0, err
	}
	out, err := r.relocate(ctx, u+"/copy", to)
	return out.Version, err
}
func (r remoteOrganizer) moveJobnet(ctx context.Context, from, to string) (int, error) {
	u, err := jobnetURL(from)
	if err != nil {
		return 0, err
	}
	out, err := r.relocate(ctx, u+"/move", to)
	return out.Version, err
}
func (r remoteOrganizer) deleteJobnet(ctx context.Context, p string) ([]string, error) {
	u, err := jobnetURL(p)
	if err != nil {
		return nil, err
	}
	var out web.APIDeleted
	err = r.c.do(ctx, http.MethodDelete, u, nil, "", &out)
	return out.NotExecuted, err
}
func (r remoteOrganizer) jobnetDependents(ctx context.Context, p string) ([]ops.Dependent, error) {
	u, err := jobnetURL(p)
	if err != nil {
		return nil, err
	}
	var out web.APIDependents
	err = r.c.do(ctx, http.MethodGet, u+"/dependents", nil, "", &out)
	return out.Dependents, err
}
func folderURL(n string) string { return "/api/v1/folders/" + url.PathEscape(n) }
func (r remoteOrganizer) copyFolder(ctx context.Context, from, to string) (int, error) {
	out, err := r.relocate(ctx, folderURL(from)+"/copy", to)
	return out.Jobnets, err
}
func (r remoteOrganizer) renameFolder(ctx context.Context, from, to string) (int, error) {
	out, err := r.relocate(ctx, folderURL(from)+"/rename", to)
	return out.Jobnets, err
}
func (r remoteOrganizer) deleteFolder(ctx context.Context, n string) error {
	return r.c.do(ctx, http.MethodDelete, folderURL(n), nil, "", nil)
}
func (r remoteOrganizer) folderDependents(ctx context.Context, n string) ([]ops.Dependent, error) {
	var out web.APIDependents
	err := r.c.do(ctx, http.MethodGet, folderURL(n)+"/dependents", nil, "", &out)
	return out.Dependents, err
}

// organizeCommand parses a jobnet or folder command line and returns the
// subcommand, its arguments and the organizer to use; closing it closes
// the database.
func organizeCommand(ctx context.Context, e env, name, usage string, args []string, arity map[string]int) (string, []string, organizer, func(), error) {
	fs := newFlagSet(e, name, usage)
	db := addDBFlags(fs)
	srv := addServerFlags(fs)
	pos, err := parseArgs(e, fs, args, "SUBCOMMAND", "[ARG]", "[ARG]")
	if err != nil {
		return "", nil, nil, nil, err
	}
	sub, pos := pos[0], pos[1:]
	n, ok := arity[sub]
	if !ok {
		fs.Usage()
		return "", nil, nil, nil, fmt.Errorf("unknown %s subcommand %q: %w", name, sub, errUsage)
	}
	if len(pos) != n {
		return "", nil, nil, nil, fmt.Errorf("%s %s needs %d argument(s), got %d (see 'koyomi %s -h'): %w", name, sub, n, len(pos), name, errUsage)
	}
	if c, err := srv.client(e); err != nil {
		return "", nil, nil, nil, err
	} else if c != nil {
		return sub, pos, remoteOrganizer{c: c}, func() {}, nil
	}
	s, err := db.open(ctx, e)
	if err != nil {
		return "", nil, nil, nil, err
	}
	return sub, pos, localOrganizer{svc: ops.New(ops.Params{Store: s}), a: cliActor(e)}, func() { s.Close() }, nil
}

func printDependents(e env, what string, deps []ops.Dependent) {
	if len(deps) == 0 {
		fmt.Fprintf(e.stdout, "nothing names %s\n", what)
		return
	}
	for _, d := range deps {
		fmt.Fprintln(e.stdout, d.String())
	}
}

func cmdJobnet(ctx context.Context, e env, args []string) error {
	sub, pos, o, done, err := organizeCommand(ctx, e, "jobnet", jobnetUsage, args,
		map[string]int{"copy": 2, "rename": 2, "move": 2, "delete": 1, "dependents": 1})
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "copy":
		if _, err := o.copyJobnet(ctx, pos[0], pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "copied %s to %s (version 1)\n", pos[0], pos[1])
	case "rename", "move":
		f, _, err := ops.SplitJobnetPath(pos[0])
		if err != nil {
			return err
		}
		to := pos[1]
		switch {
		case sub == "rename" && strings.Contains(to, "/"):
			return fmt.Errorf("jobnet rename takes a new name without a folder; use jobnet move F/N FOLDER/NAME: %w", errUsage)
		case sub == "rename":
			to = f + "/" + to
		case !strings.Contains(to, "/"):
			to = to + "/" + pos[0][len(f)+1:]
		}
		v, err := o.moveJobnet(ctx, pos[0], to)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is now %s (version %d; versions and runs kept)\n", pos[0], to, v)
	case "delete":
		ids, err := o.deleteJobnet(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s (versions and past runs kept)\n", pos[0])
		if len(ids) > 0 {
			fmt.Fprintf(e.stdout, "not executed: %s\n", strings.Join(ids, ", "))
		}
	case "dependents":
		deps, err := o.jobnetDependents(ctx, pos[0])
		if err != nil {
			return err
		}
		printDependents(e, pos[0], deps)
	}
	return nil
}

func cmdFolder(ctx context.Context, e env, args []string) error {
	sub, pos, o, done, err := organizeCommand(ctx, e, "folder", folderUsage, args,
		map[string]int{"copy": 2, "rename": 2, "delete": 1, "dependents": 1})
	if err != nil {
		return err
	}
	defer done()
	switch sub {
	case "copy":
		n, err := o.copyFolder(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "copied folder %s to %s with %d jobnet(s)\n", pos[0], pos[1], n)
	case "rename":
		n, err := o.renameFolder(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "folder %s is now %s with %d jobnet(s) (versions and runs kept)\n", pos[0], pos[1], n)
	case "delete":
		if err := o.deleteFolder(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted folder %s\n", pos[0])
	case "dependents":
		deps, err := o.folderDependents(ctx, pos[0])
		if err != nil {
			return err
		}
		printDependents(e, pos[0], deps)
	}
	return nil
}
