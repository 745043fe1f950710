package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// Executions recorded by earlier versions keep one file per record
// (supervisor, job, exit) and two lock files (start.lock, run.lock) instead
// of the run record and the directory's lock. A supervisor of such a
// version is retired when a server of this one connects, and supervises
// its running jobs to their end in that layout; their outcomes, logs and
// retention are read here.

// legacyUnstarted reports whether dir is what a server of an earlier
// version left when it died after writing the request and before its
// supervisor took it: the job never started.
func legacyUnstarted(dir string) bool {
	return exists(dir, legacyRequest) || exists(dir, legacyStartLock)
}

// legacy reports whether dir was started in the earlier layout.
func legacy(dir string) bool {
	return exists(dir, legacySupervisor) || exists(dir, legacyExit)
}

// legacyStatus is Status for a directory without a run record: an
// execution of an earlier version, or one that was never started (a Cancel
// before the start, a server of an earlier version that died before asking
// its supervisor).
func legacyStatus(dir, id string) (dispatch.Status, error) {
	if st, ok, err := legacyReadExit(dir); ok || err != nil {
		return st, err
	}
	if !exists(dir, legacySupervisor) {
		// A supervisor of this version takes the directory's lock
		// before it writes the run record; one of the earlier version
		// was handed the start under start.lock.
		held, err := dirLocked(dir)
		if err == nil && !held && exists(dir, legacyStartLock) {
			held, err = legacyLocked(dir, legacyStartLock)
		}
		if err != nil {
			return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
		}
		if held {
			return dispatch.Status{State: dispatch.StatePending, Reason: "starting"}, nil
		}
		if _, ok, err := readRun(dir); ok || err != nil {
			return dispatch.Status{}, errRecheck
		}
		if st, ok, err := legacyReadExit(dir); ok || err != nil {
			return st, err
		}
		if exists(dir, legacySupervisor) {
			return dispatch.Status{}, errRecheck
		}
		if !legacyUnstarted(dir) {
			// This version's supervisor created the directory and
			// died, or the host crashed, before its record was on disk.
			return dispatch.Status{State: dispatch.StateLost, Reason: "the start was not recorded: the supervisor or the host stopped while it started the job, which may have run"}, nil
		}
		return dispatch.Status{State: dispatch.StateLost, Reason: "the supervisor never started"}, nil
	}
	alive, err := legacyLocked(dir, legacyRunLock)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
	}
	var job jobRecord
	hasJob, err := readJSON(dir, legacyJob, &job)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
	}
	if alive {
		if !hasJob {
			return dispatch.Status{State: dispatch.StatePending, Reason: "starting"}, nil
		}
		return dispatch.Status{State: dispatch.StateRunning, StartedAt: job.StartedAt}, nil
	}
	if st, ok, err := legacyReadExit(dir); ok || err != nil {
		return st, err
	}
	if !hasJob {
		return lostStatus(nil), nil
	}
	return lostStatus(&job), nil
}

// errRecheck asks Status to read the directory again: a supervisor wrote
// its run record while the legacy path looked.
var errRecheck = errors.New("local: the execution changed while it was read")

func legacyReadExit(dir string) (dispatch.Status, bool, error) {
	var rec exitRecord
	ok, err := readJSON(dir, legacyExit, &rec)
	if err != nil || !ok {
		return dispatch.Status{}, false, err
	}
	return exitStatus(rec), true, nil
}

// legacyLocked reports whether a lock file of the earlier layout is held.
func legacyLocked(dir, name string) (bool, error) {
	if !exists(dir, name) {
		return false, nil
	}
	l, held, err := tryLock(dir, name, syscall.LOCK_SH)
	if err != nil {
		return false, err
	}
	l.unlock()
	return held, nil
}

// recorded returns what an execution recorded, in either layout.
func recorded(dir string) (runLine, error) {
	if rec, ok, err := readRun(dir); ok || err != nil {
		return rec, err
	}
	return legacyRecord(dir)
}

// inUse reports whether a supervisor holds the execution, or an earlier
// version's server or supervisor holds one of its lock files.
func inUse(dir string) (bool, error) {
	held, err := dirLocked(dir)
	for _, name := range []string{legacyRunLock, legacyStartLock} {
		if err != nil || held {
			break
		}
		held, err = legacyLocked(dir, name)
	}
	return held, err
}

// legacyRecord returns what an execution of the earlier layout recorded,
// in the shape of a run record.
func legacyRecord(dir string) (runLine, error) {
	var rec runLine
	if data, err := os.ReadFile(filepath.Join(dir, legacySupervisor)); err == nil {
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			return rec, fmt.Errorf("supervisor pid %q: %w", data, err)
		}
		rec.Supervisor = pid
	}
	var job jobRecord
	if ok, err := readJSON(dir, legacyJob, &job); err != nil {
		return rec, err
	} else if ok {
		rec.Job = &job
	}
	var exit exitRecord
	if ok, err := readJSON(dir, legacyExit, &exit); err != nil {
		return rec, err
	} else if ok {
		rec.Exit = &exit
	}
	return rec, nil
}
