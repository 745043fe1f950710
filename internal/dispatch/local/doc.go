// Package local is the executor for jobs on the Koyomi host: it runs
// `/bin/sh -c <command>` (jobnet.LocalSpec.Command, in WorkDir) under a
// long-lived supervisor process, so that a restarted server, even one
// killed with SIGKILL, still learns how the job ended. Unix only (flock,
// sessions, process groups, unix sockets); the liveness checks of orphaned
// jobs read /proc and log capping uses fallocate (Linux).
//
// # Processes
//
//	server ──(unix socket)──▶ supervisor ──(fork/exec, Setpgid)──▶ /bin/sh -c command
//	       (Setsid, one per state directory, started on demand)
//
// The supervisor is the Koyomi binary itself (`koyomi supervise`, which
// calls SupervisorMain); Config.SupervisorCmd is its command line. One
// supervisor serves a state directory: it listens on
// <StateDir>/supervisor.sock and holds supervisor.lock while it does. The
// executor connects on its first Start (or, to hear about adopted jobs, on
// Subscribe when a supervisor already runs); when none listens it starts
// one in a session of its own (Setsid: no controlling terminal, no signal
// meant for the server's process group, stdin /dev/null, output to
// <StateDir>/supervisor.log) and waits until it reports on an inherited
// pipe that it listens. Servers sharing a state directory share its
// supervisor. The supervisor survives the server; it exits after two idle
// seconds with no job and no connection. A server started from another
// build of the binary (path, size or modification time differ) asks a
// running supervisor to retire: it closes its socket, supervises its running
// jobs to their end and exits, while a new one takes the socket. Servers
// sharing a state directory should therefore run the same build.
//
// The supervisor forks each job itself, in its own process group, with the
// request's environment plus PATH and HOME from the server's (the request
// wins), stdin from /dev/null, stdout and stderr appended to the log file.
// It is the job's parent: one SIGCHLD loop reaps every job (no thread per
// job) and records the outcome.
//
// # Why a long-lived supervisor
//
// Measured on the 2-core development machine (BenchmarkStartExitTrue:
// `true` jobs one after another, each started when the previous one's end
// was notified, its status then read; BenchmarkForkExecTrue: the server
// running `/bin/sh -c true` itself and waiting, recording nothing),
// `-benchtime 200x`, three runs each:
//
//	                                   quiet (load 1–3)      later (load ≈ 3)
//	fork/exec of /bin/sh -c true      2.37–2.45 ms          3.18–3.51 ms
//	this package                      4.20–5.41 ms          6.95–7.16 ms
//	ratio                             1.8–2.2×              2.0–2.2×
//	`koyomi supervise` per job (an earlier design)  ≈ 105 ms, + the poll interval
//	a supervisor-only binary per job                ≈ 25 ms
//
// A process per job pays a Go runtime start-up per job — the whole server
// binary's package initialisation (64–72 ms) for `koyomi supervise`; a
// minimal Go binary still ≈ 10 ms here under load, as much as the job
// itself — and holds tens of MB per running job. The long-lived supervisor
// pays its start-up once per node and one process's memory for any number
// of running jobs (≈ 70 MB resident). What is left per job is the fork/exec,
// one socket message each way, three file creations, the fsync of the start
// record before the job starts (shared by concurrent starts) and the exit
// record's, which is off the notified path. End to end (docs/bench.md) a
// chain of local jobs hops within 1.7–2.4× of fork/exec alone.
//
// # State directory
//
// Each execution has <StateDir>/<key>/ (key = Request.Key, [a-z0-9-]):
//
//	run       the execution's record (0600): JSON lines the supervisor appends —
//	          {"supervisor":pid} when it takes the execution, {"job":{pid, start
//	          time, /proc start ticks}} once the job runs, {"exit":{…}} last
//	log       the job's stdout and stderr
//	log.cut   the byte range the log cap left out
//	cancel    marker written by Cancel, with the grace period
//
// The supervisor holds an flock on the execution's directory itself while
// it supervises the execution. A reader reads the run record's complete
// lines only (a line being appended has no newline yet). Three files are
// created per execution (the directory, run, log): on ext4 creating a file
// costs an inode allocation that dominated the supervisor's system time
// when each record was a file of its own written through a temporary file
// and a rename (eight creations per job).
//
// Durability (fsync) is spent where a host crash would otherwise lie: the
// run record's first line, its directory entry and the execution
// directory's own entry are durable before the job is forked (after a host
// crash the execution reads as lost, never as not started, so it is never
// run twice), and the exit line is durable before the supervisor lets go of
// the directory's lock. The exit line is appended and the executors are
// told before its fsync, so that the runner does not wait for the disk; a
// host crash in that window kills the job as well, and a server that
// recorded the outcome meanwhile has it in its database.
//
// The request (command, working directory, environment) travels over the
// socket and is kept in the supervisor's memory only: a job's environment
// may hold secrets, and nothing but the supervisor reads it.
//
// Directories written by earlier versions (one file per record:
// supervisor, job, exit, and start.lock and run.lock) are still read —
// their outcomes, logs and retention — and never started again (legacy.go).
//
// # Start (idempotent by key)
//
// Start sends the key and the request to the supervisor over the socket
// (after a quick look: an execution whose run record names a supervisor
// is returned as it is); the supervisor replies once the job runs or its
// failure to start is recorded. The supervisor serialises starts of one
// key and takes the execution (claim): it creates the directory or takes an
// existing one that no start has taken (a Cancel before the start made it),
// locks it — a lock held means another supervisor (a retired one) has it —
// and creates the run record exclusively; a directory that has a run record
// or an earlier version's records was started before and is left alone. So
// a key is started at most once however often and by whomever it is asked,
// even by a server that dies between asking and recording. A connection
// lost before the reply is retried.
//
// # Status and notifications
//
//	exit line present                   → exited (cancelled if the supervisor stopped
//	                                      it for Cancel; failed_to_start if it never ran)
//	directory locked                    → running (pending until the job line exists)
//	not locked, no exit line            → lost: the supervisor died (kill -9) without
//	                                      recording the outcome
//	no run record                       → pending while locked (being taken), else lost:
//	                                      "the supervisor never started"
//
// Liveness is tested with the lock, not with the pid: locks vanish when a
// process dies, whether or not anyone reaps it, and are immune to pid reuse.
// A job killed by signal N is exited with code 128+N and the reason
// "killed by signal TERM". A command that cannot be started (a WorkDir that
// does not exist) is failed_to_start with the reason; a command the shell
// cannot find exits 127, as the shell says.
//
// The executor is a dispatch.Notifier: the supervisor sends every connected
// executor the key and the exit record of each execution whose outcome it
// has appended (ended, failed to start, cancelled before the start), and
// Subscribe's function is called with the key and the status Status would
// read, so the runner records the end without asking again. After the
// connection breaks the executor reconnects to a supervisor that listens;
// what ended in between is found by the runner's polls.
//
// # Cancel and signals
//
// Cancel writes the cancel marker and sends the supervisor SIGUSR1; the
// supervisor looks for markers of its running jobs and sends the job's
// process group SIGTERM and, when the grace period ends, SIGKILL. The
// escalation lives in the supervisor, so it happens even if the server
// crashes meanwhile. When a stopped job has ended, what it left in its group
// gets SIGKILL. A supervisor that sees the marker before it has started the
// job records cancelled without running it (it checks again once the job is
// registered, so a marker written in between is not missed). A SIGTERM,
// SIGINT or SIGHUP to the supervisor (a host shutdown) stops every job the
// same way with Config.KillGrace, and the outcome is the job's exit, not a
// cancellation, unless it had a cancel marker. Cancelling an ended execution
// does nothing. If the supervisor is gone (lost), Cancel signals the
// orphaned job's group directly, but only while /proc shows the same
// process (pid and start time), never a process that reused the pid.
//
// # Children left behind
//
// When a job ends normally but processes it started still run in its
// process group (`sleep 300 &`), the supervisor notes it in the job's log
// and sends the group SIGTERM, then SIGKILL after the kill grace, unless the
// job has keep_children: true. The job's outcome is its own exit and is
// recorded at once; the children are stopped meanwhile. The group id stays
// allocated while the group has a member, so signalling it reaches no one
// else. Processes that left the group (setsid, a daemon that double-forks)
// are not followed.
//
// # Logs
//
// The cursor is a decimal byte offset into the log file; Logs returns at
// most limit bytes (LogLimitDefault, at most LogLimitMax) and More when the
// file already holds more. The job writes straight to the file, so the log
// is complete even if the supervisor dies. LogTail (dispatch.LogTailer)
// reads the end of a log from its size without reading what comes before,
// for a viewer opening a large log or falling behind a job writing fast.
//
// With Config.LogMax, the supervisor checks the logs of its running jobs
// every 250 ms and once more when a job ends: a log over the cap keeps its
// first quarter and its last three quarters; the range between is recorded
// in log.cut first and then deallocated (fallocate PUNCH_HOLE, so the file
// keeps its offsets and readers their cursors). Logs returns a line in its
// place — "[koyomi: log truncated here, 12 MiB left out: …]" — and moves the
// cursor past it, so the log viewer, tail and download all say where the
// log was cut. Between two checks a log can exceed the cap by what the job
// writes in 250 ms.
//
// # Retention
//
// Prune removes the directories of executions that ended before a cutoff
// (and of abandoned ones, untouched since the cutoff with nothing running);
// the server calls it periodically with its --job-retention.
package local
