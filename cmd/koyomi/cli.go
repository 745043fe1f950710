package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelp ends a command that printed its help on request (exit 0).
var errHelp = errors.New("help shown")

// newFlagSet starts the flags of a command. synopsis is its usage line after
// "koyomi" (`plan [-f FILE | --jobnet F/N] --from D --to D`); -h prints it
// with every flag and its default.
func newFlagSet(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { printFlagUsage(fs.Output(), fs, synopsis) }
	return fs
}

func printFlagUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "usage: koyomi %s\n", synopsis)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// parseArgs parses a command's arguments: flags may come before, between or
// after the positional arguments ("migrate up --data-dir d" and
// "migrate --data-dir d up" are the same), and "--" ends the flags. want
// names the positional arguments: NAME is required, [NAME] optional, and a
// trailing NAME... takes any number. Anything more is an error, so a flag
// or argument is never silently ignored. -h or --help prints the usage and
// the flags' defaults to stdout and returns errHelp.
func parseArgs(e env, fs *flag.FlagSet, args []string, want ...string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			out := fs.Output()
			fs.SetOutput(e.stdout)
			usage()
			fs.SetOutput(out)
			return nil, errHelp
		}
		if err != nil {
			fmt.Fprintln(e.stderr, "koyomi "+fs.Name()+":", err)
			usage()
			return nil, fmt.Errorf("%s: %v: %w", fs.Name(), err, errUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	required, max := 0, 0
	for _, w := range want {
		switch {
		case strings.HasSuffix(w, "..."):
			max = -1
		case strings.HasPrefix(w, "["):
			if max >= 0 {
				max++
			}
		default:
			required++
			if max >= 0 {
				max++
			}
		}
	}
	if len(pos) < required {
		return nil, fmt.Errorf("%s needs %s: %w", fs.Name(), strings.Join(want[:required], " "), errUsage)
	}
	if max >= 0 && len(pos) > max {
		extra := pos[max]
		if max == 0 {
			return nil, fmt.Errorf("%s takes no arguments, got %q (flags are -name value; see 'koyomi %s -h'): %w", fs.Name(), extra, fs.Name(), errUsage)
		}
		return nil, fmt.Errorf("%s: unexpected argument %q after %s (see 'koyomi %s -h'): %w", fs.Name(), extra, strings.Join(want, " "), fs.Name(), errUsage)
	}
	return pos, nil
}
