// Command koyomi is the business-calendar job scheduler: the server (serve),
// schema migrations, definitions as code (apply, export, schema), calendar
// and plan tools, and operator commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	// The supervisor of local jobs is this binary; it must not install the
	// server's signal handling.
	if len(os.Args) > 1 && os.Args[1] == "supervise" {
		os.Exit(local.SupervisorMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "koyomi:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode maps error categories to exit codes scripts can test.
func exitCode(err error) int {
	switch {
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, fault.ErrInvalid):
		return 3
	case errors.Is(err, fault.ErrNotFound):
		return 4
	case errors.Is(err, fault.ErrConflict):
		return 5
	}
	return 1
}

var errUsage = errors.New("usage")

// env is what every command gets from main.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server: web GUI, API, planner and runner", cmdServe},
		{"migrate", "apply or roll back schema migrations: migrate up|down|status", cmdMigrate},
		{"apply", "create or update definitions from YAML: apply -f FILE|DIR [--dry-run]", cmdApply},
		{"export", "write definitions as YAML: export [-o DIR] [--folder F]", cmdExport},
		{"schema", "print the JSON Schema of the definition format", cmdSchema},
		{"import", "import JP1/AJS3 definitions: import jp1 FILE|DIR [--into FOLDER] [--dry-run] [-o DIR]", cmdImport},
		{"calendar", "calendar tools: calendar show|import|export|sets", cmdCalendar},
		{"jobnet", "copy, rename, move or delete a jobnet: jobnet copy|rename|move|delete|dependents", cmdJobnet},
		{"folder", "copy, rename or delete a folder: folder copy|rename|delete|dependents", cmdFolder},
		{"run", "operate generations: run now|status|rerun|hold|release|kill|logs|cancel|retime|mark", cmdRun},
		{"plan", "show planned runs: plan [-f FILE | --jobnet F/N] --from D --to D [--explain] [-o json]", cmdPlan},
		{"admin", "recover access: admin reset-password USER | create-user USER --role R", cmdAdmin},
		{"version", "print the version and the database's installation id: version [--database-url URL] [--data-dir DIR]", cmdVersion},
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch {
	case len(args) == 0:
		usage(stderr)
		return fmt.Errorf("missing command: %w", errUsage)
	case args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1):
		usage(stdout)
		return nil
	case args[0] == "--version" || args[0] == "-version":
		return cmdVersion(ctx, e, args[1:])
	case args[0] == "help":
		// help COMMAND [SUBCOMMAND] is COMMAND [SUBCOMMAND] -h.
		args = append(args[1:], "-h")
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Koyomi — business-calendar job management\n\nUsage: koyomi COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'koyomi COMMAND -h' (or 'koyomi help COMMAND') for the flags of a command; 'koyomi --version' prints the version.")
}
