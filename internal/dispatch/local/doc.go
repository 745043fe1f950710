// Package local is the executor for jobs on the Koyomi host: it runs
// `/bin/sh -c <command>` (jobnet.LocalSpec.Command, in WorkDir) through a
// small supervisor process, so that a restarted server, even one killed with
// SIGKILL, still learns how the job ended. Unix only (flock, sessions,
// process groups); the liveness checks of orphaned jobs read /proc (Linux).
//
// # Processes
//
//	server ──(Setsid, reaped by the server)──▶ supervisor ──(Setpgid)──▶ /bin/sh -c command
//
// The supervisor is the Koyomi binary itself (`koyomi supervise`, which calls
// SupervisorMain); Config.SupervisorCmd is its command line. The executor
// starts it in a session of its own (Setsid): it has no controlling
// terminal, signals for the server's process group (Ctrl-C, a service
// manager stopping the server's group) do not reach it, and its stdin is
// /dev/null. The server Waits for it in a goroutine, so no zombie is left
// while the server lives; after a server restart the supervisor is
// re-parented to init (or the nearest subreaper), which reaps it. Setsid
// plus Wait was chosen over a double fork: it keeps the supervisor a plain
// child that the server can reap, and nothing depends on being its parent.
//
// The supervisor starts the job in its own process group (Setpgid) with the
// request's environment plus PATH and HOME from the server's (the request
// wins), stdin from /dev/null, stdout and stderr appended to the log file.
// It waits for the job and records the outcome.
//
// # State directory
//
// Each execution has <StateDir>/<key>/ (key = Request.Key, [a-z0-9-]):
//
//	request.json    command, workdir and environment (0600), written by Start
//	start.lock      flock held by Start while it starts the supervisor
//	run.lock        flock held by the supervisor for its whole life
//	supervisor      the supervisor's pid, written once it holds run.lock
//	supervisor.log  the supervisor's own diagnostics
//	job             the job's pid, start time and /proc start ticks
//	log             the job's stdout and stderr
//	cancel          marker written by Cancel, with the grace period
//	exit            the outcome (JSON), written last via rename
//
// Every file but the logs and locks is written atomically (temporary file,
// fsync, rename).
//
// # Start (idempotent by key)
//
// Start creates the directory (an existing one is fine), takes start.lock
// and, if a supervisor has recorded itself or an outcome exists, returns the
// handle without starting anything. Otherwise it writes request.json,
// starts the supervisor and waits (Config.StartTimeout) until the
// supervisor reports on an inherited pipe that the job runs or could not
// start. Concurrent Starts, in one server or several, serialise on
// start.lock; the supervisor itself takes run.lock exclusively and refuses
// to start the job if a job or exit record exists, so even a server that
// dies between starting a supervisor and recording it never causes a second
// run. A server that died before starting any supervisor leaves a directory
// without one: Status reports it lost ("the supervisor never started") and
// the next Start with the key starts it.
//
// # Status
//
//	exit present                      → exited (cancelled if the supervisor stopped
//	                                    it for Cancel; failed_to_start if it never ran)
//	no supervisor record, start.lock  → pending (being started)
//	run.lock held                     → running (pending until the job record exists)
//	run.lock free, no exit            → lost: the supervisor died (kill -9) without
//	                                    recording the outcome
//
// Liveness is tested with the lock, not with the pid: locks vanish when a
// process dies, whether or not anyone reaps it, and are immune to pid reuse.
// A job killed by signal N is exited with code 128+N and the reason
// "killed by signal TERM". A command that cannot be started (a WorkDir that
// does not exist) is failed_to_start with the reason; a command the shell
// cannot find exits 127, as the shell says.
//
// # Cancel and signals
//
// Cancel writes the cancel marker and sends the supervisor SIGTERM. The
// supervisor sends the job's process group SIGTERM and, when the grace
// period ends, SIGKILL; the escalation lives in the supervisor, so it
// happens even if the server crashes meanwhile. When a stopped job has ended,
// what it left in its group gets SIGKILL. A supervisor that sees the marker before
// it has started the job records cancelled without running it. A SIGTERM,
// SIGINT or SIGHUP to the supervisor without a marker (a host shutdown)
// stops the job the same way with Config.KillGrace, and the outcome is the
// job's exit, not a cancellation. Cancelling an ended execution does
// nothing. If the supervisor is gone (lost), Cancel signals the orphaned
// job's group directly, but only while /proc shows the same process (pid and
// start time), never a process that reused the pid.
//
// # Logs
//
// The cursor is a decimal byte offset into the log file; Logs returns at
// most limit bytes (LogLimitDefault, at most LogLimitMax) and More when the
// file already holds more. The job writes straight to the file, so the log
// is complete even if the supervisor dies.
package local
