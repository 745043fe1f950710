package local

import (
	"fmt"
	"os"
	"syscall"
)

// logCut is the content of log.cut: the byte range [From, To) of the log
// that the size cap left out. The range grows as the job writes; its bytes
// are deallocated (a hole), so the file keeps its offsets and readers their
// cursors while the disk holds at most about Max bytes.
type logCut struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
	Max  int64 `json:"max"`
}

// empty reports whether nothing was left out.
func (c logCut) empty() bool { return c.To <= c.From }

// logHead is how much of the start of a capped log is kept; the rest of
// the cap keeps its end.
func logHead(max int64) int64 { return max / 4 }

// planCut decides the cut of a log of size bytes under the cap max, given
// the current cut. It keeps the first logHead(max) bytes and the last
// max-logHead(max). changed is false when the log fits.
func planCut(size, max int64, cur logCut) (next logCut, changed bool) {
	if max <= 0 {
		return cur, false
	}
	if size-(cur.To-cur.From) <= max {
		return cur, false
	}
	head := logHead(max)
	next = logCut{From: head, To: size - (max - head), Max: max}
	if !cur.empty() {
		next.From = cur.From
	}
	return next, next.To > cur.To
}

// cutMarker is what a reader sees in place of the range left out.
func cutMarker(c logCut) string {
	return fmt.Sprintf("\n[koyomi: log truncated here, %s left out: a job's log is capped at %s, its first %s and its last %s are kept]\n",
		byteSize(c.To-c.From), byteSize(c.Max), byteSize(logHead(c.Max)), byteSize(c.Max-logHead(c.Max)))
}

// byteSize formats n bytes for people: 512 B, 1.5 KiB, 64 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// Flags of fallocate(2).
const (
	fallocKeepSize  = 0x01
	fallocPunchHole = 0x02
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
	next, changed := planCut(fi.Size(), j.spec.LogMax, j.cut)
	if !changed {
		return
	}
	if err := writeJSONFile(j.dir, fileLogCut, next, false); err != nil {
		d.logf("%s: %v", j.key, err)
		return
	}
	from := next.From
	if !j.cut.empty() {
		from = j.cut.To
	}
	j.cut = next
	err = syscall.Fallocate(int(j.log.Fd()), fallocPunchHole|fallocKeepSize, from, next.To-from)
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
func readCut(dir string) (logCut, error) {
	var c logCut
	if _, err := readJSON(dir, fileLogCut, &c); err != nil {
		return logCut{}, err
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
