package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/web"
)

func cmdApply(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "apply", "apply -f FILE|DIR [-f …] [-R] [--dry-run] [--server URL --token T]")
	db := addDBFlags(fs)
	srv := addServerFlags(fs)
	var files pathList
	fs.Var(&files, "f", "a YAML file or a directory of them (its own files; -R for subdirectories too); repeat to apply several in one transaction")
	recursive := fs.Bool("R", false, "read the subdirectories of a -f directory too")
	dry := fs.Bool("dry-run", false, "validate only; write nothing")
	if _, err := parseArgs(e, fs, args); err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("apply needs -f FILE|DIR: %w", errUsage)
	}
	b, err := jobnet.Load(*recursive, files...)
	if err != nil {
		return err
	}
	return applyBundle(ctx, e, db, srv, b, *dry)
}

// pathList is a repeatable path flag.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(v string) error {
	*p = append(*p, v)
	return nil
}

// applyBundle applies definitions in one transaction, through the server
// when --server is given, else on the database, and prints what changed.
func applyBundle(ctx context.Context, e env, db dbFlags, srv serverFlags, b *jobnet.Bundle, dry bool) error {
	if c, err := srv.client(e); err != nil {
		return err
	} else if c != nil {
		return applyViaServer(ctx, e, c, b, dry)
	}
	s, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := ops.New(ops.Params{Store: s}).Apply(ctx, cliActor(e), b, dry)
	if err != nil {
		return err
	}
	lines := make([]web.APIApplied, len(res.Objects))
	for i, o := range res.Objects {
		lines[i] = web.APIApplied{Kind: o.Kind, Name: o.Name, Change: string(o.Change), Version: o.Version}
	}
	return printApplied(e.stdout, res.DryRun, b.Len(), lines)
}

// printApplied reports an apply, done locally or through the API.
func printApplied(w io.Writer, dryRun bool, n int, objs []web.APIApplied) error {
	if dryRun {
		fmt.Fprintf(w, "%d definition(s) are valid; nothing written (--dry-run)\n", n)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range objs {
		v := ""
		if o.Version > 0 {
			v = fmt.Sprintf("v%d", o.Version)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Kind, o.Name, o.Change, v)
	}
	return tw.Flush()
}

func cmdExport(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "export", "export [-o DIR] [--folder F]")
	db := addDBFlags(fs)
	out := fs.String("o", "", "write one file per folder into this directory (default: one YAML stream on stdout)")
	folder := fs.String("folder", "", "export only this folder (calendars and pools are always included)")
	if _, err := parseArgs(e, fs, args); err != nil {
		return err
	}
	s, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	b, err := ops.New(ops.Params{Store: s}).Export(ctx, *folder)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := jobnet.WriteDir(*out, b); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "exported %d definition(s) to %s\n", b.Len(), *out)
		return nil
	}
	data, err := jobnet.Encode(b)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(data)
	return err
}

func cmdSchema(_ context.Context, e env, args []string) error {
	if _, err := parseArgs(e, newFlagSet(e, "schema", "schema"), args); err != nil {
		return err
	}
	data, err := jobnet.Schema()
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(append(data, '\n'))
	return err
}
