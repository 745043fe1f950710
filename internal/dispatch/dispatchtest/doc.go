// Package dispatchtest is the conformance suite every dispatch.Executor
// passes. An executor's test calls Run with a Harness that knows how to build
// the executor and how to express a few kinds of job on its backend:
//
//   - a job that exits with a given code (0, 3 and 255 are tried),
//   - a job that prints given lines, waits for a release, prints more lines
//     and exits 0 (logs while running, cursor resumption),
//   - a job that runs until it is killed, and one that also ignores the
//     graceful stop (cancel escalation),
//   - a job that cannot start,
//   - a job that prints an environment variable.
//
// Backends that cannot express a kind leave its hook nil and the cases that
// need it are skipped with a message saying so (the noop executor, for
// example, only has jobs that end at once with code 0). Every hook that is
// set is exercised: the suite never skips silently.
//
// The cases:
//
//   - exit codes: a started job is pending, running or already exited, and
//     ends as exited with the job's code;
//   - idempotency: Start with the same key, sequentially and from several
//     goroutines at once, returns equal handles and the backend counts one
//     execution (Backend.Executions);
//   - logs: readable while the job runs; a cursor resumes without
//     duplication or loss; after the end the whole log reads again from
//     the empty cursor, also in small pages;
//   - cancel: a running job ends as cancelled within the grace period (plus
//     the harness's slack), a job ignoring the graceful stop too; cancelling
//     an ended job is not an error and does not change its outcome;
//   - failed to start: reported as StateFailedToStart with a reason, or as a
//     *dispatch.Permanent error from Start;
//   - unknown handles: garbage handles and handles the backend never made
//     give an error unwrapping to dispatch.ErrUnknownHandle, or StateLost;
//   - environment: Request.Env is visible to the job;
//   - restart: a handle survives a JSON round trip and a brand-new executor
//     instance over the same backend reads its status and logs and can
//     cancel it.
//
// Waiting uses polling with a deadline (Harness.Timeout), never fixed sleeps.
package dispatchtest
