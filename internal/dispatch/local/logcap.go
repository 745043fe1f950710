package local

import (
	"os"

	"github.com/koyomi-dev/koyomi/internal/dispatch/logcap"
)

// capLog applies the job's log cap: it records the new cut first (so a
// reader never takes a hole for data) and then deallocates the range.
func (d *daemon) capLog(j *job) {
	if j.spec.LogMax <= 0 {
		return
	}
	j.capMu.Lock()
	defer j.capMu.Unlock()
	if j.logClosed {
		return
	}
	fi, err := j.log.Stat()
	if err != nil {
		d.logf("%s: log size: %v", j.key, err)
		return
	}
	next, changed := logcap.Plan(fi.Size(), j.spec.LogMax, j.cut)
	if !changed {
		return
	}
	if err := writeJSONFile(j.dir, fileLogCut, next, false); err != nil {
		d.logf("%s: %v", j.key, err)
		return
	}
	prev := j.cut
	j.cut = next
	err = logcap.Punch(j.log, prev, next)
	if err != nil && !j.punchFailed {
		j.punchFailed = true
		d.logf("%s: cannot free the truncated part of the log on this file system (readers skip it all the same): %v", j.key, err)
	}
}

// capLogs applies the cap to the logs of the running jobs.
func (d *daemon) capLogs() {
	for _, j := range d.running() {
		d.capLog(j)
	}
}

// closeLog closes the job's log once the cap is applied a last time.
func (j *job) closeLog() {
	j.capMu.Lock()
	defer j.capMu.Unlock()
	j.logClosed = true
	_ = j.log.Close()
}

// readCut reads the log's cut (empty when nothing was left out).
func readCut(dir string) (logcap.Cut, error) {
	var c logcap.Cut
	if _, err := readJSON(dir, fileLogCut, &c); err != nil {
		return logcap.Cut{}, err
	}
	return c, nil
}

// statLog returns the size of the log file, or 0 when there is none.
func statLog(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
