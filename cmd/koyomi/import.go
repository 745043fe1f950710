package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jp1"
)

// cmdImport imports definitions of other job managers:
// import jp1 FILE|DIR [--into FOLDER] [--dry-run] [-o DIR].
func cmdImport(ctx context.Context, e env, args []string) error {
	fset := newFlagSet(e, "import", "import jp1 FILE|DIR [--into FOLDER] [--dry-run] [-o DIR]")
	db := addDBFlags(fset)
	srv := addServerFlags(fset)
	into := fset.String("into", "", "folder of jobnets outside any job group, and prefix of the folders made from job groups")
	dry := fset.Bool("dry-run", false, "map and validate only; write nothing")
	out := fset.String("o", "", "write the definitions as YAML into this directory instead of applying them")
	zone := fset.String("time-zone", jp1.TimeZoneDefault, "IANA time zone of the imported calendars (the JP1 manager's local time)")
	verbose := fset.Bool("v", false, "list the mapped constructs too")
	pos, err := parseArgs(e, fset, args, "jp1", "FILE|DIR")
	if err != nil {
		return err
	}
	if pos[0] != "jp1" {
		return fmt.Errorf("import %q: the source Koyomi reads is jp1 (import jp1 FILE|DIR): %w", pos[0], errUsage)
	}
	pos = pos[1:]
	units, err := readJP1(pos[0])
	if err != nil {
		return err
	}
	b, rep, err := jp1.Map(units, jp1.Options{Into: *into, TimeZone: *zone})
	if err != nil {
		return err
	}
	if ps := jobnet.Validate(b, jobnet.Known{}); len(ps) > 0 {
		return fmt.Errorf("the imported definitions do not validate: %w", ps)
	}
	rep.Write(e.stdout, *verbose)
	switch {
	case *out != "":
		if *dry {
			fmt.Fprintf(e.stdout, "%d definition(s) are valid; nothing written (--dry-run)\n", b.Len())
			return nil
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := jobnet.WriteDir(*out, b); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %d definition(s) to %s\n", b.Len(), *out)
		return nil
	}
	return applyBundle(ctx, e, db, srv, b, *dry)
}

// readJP1 parses a file, or every file under a directory (recursively, in
// lexical order, hidden ones skipped), reporting the syntax errors of all.
func readJP1(path string) ([]*jp1.Unit, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("import jp1: %w", err)
	}
	files := []string{path}
	if info.IsDir() {
		files = nil
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("import jp1: %w", err)
		}
	}
	var units []*jp1.Unit
	var probs fault.Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("import jp1: %w", err)
		}
		us, err := jp1.Parse(f, data)
		if err != nil {
			ps, ok := fault.AsProblems(err)
			if !ok {
				return nil, err
			}
			probs = append(probs, ps...)
			continue
		}
		units = append(units, us...)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return units, nil
}
