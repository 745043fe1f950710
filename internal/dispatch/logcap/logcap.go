// Package logcap decides how a job's log is held to a size cap, for every
// executor that keeps logs on disk (local jobs, the kept logs of ended EKS
// pods): the first quarter of the cap and the last three quarters are kept,
// the range between them is left out. The range is recorded (Cut) before
// its bytes are deallocated from the file (a hole punched with
// fallocate(2)), so the file keeps the offsets of the whole log, readers
// keep their cursors, and a reader never takes a hole for data: it shows
// Marker in its place.
//
// The package is pure but for Punch, the one system call, and Read, which
// reads what it is given.
package logcap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// Cut is the byte range [From, To) of a log that the cap left out, and the
// cap that left it out. The range grows as the job writes.
type Cut struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
	Max  int64 `json:"max"`
}

// Empty reports whether nothing was left out.
func (c Cut) Empty() bool { return c.To <= c.From }

// Head is how much of the start of a log capped at max is kept; the rest
// of the cap keeps its end.
func Head(max int64) int64 { return max / 4 }

// Plan decides the cut of a log of size bytes under the cap max (0 or less:
// no cap), given the current cut: keep the first Head(max) bytes and the
// last max-Head(max). changed is false when nothing more must go.
func Plan(size, max int64, cur Cut) (next Cut, changed bool) {
	if max <= 0 || size-(cur.To-cur.From) <= max {
		return cur, false
	}
	head := Head(max)
	next = Cut{From: head, To: size - (max - head), Max: max}
	if !cur.Empty() {
		next.From = cur.From
	}
	return next, next.To > cur.To
}

// Marker is what a reader sees in place of the range left out.
func Marker(c Cut) string {
	return fmt.Sprintf("\n[koyomi: log truncated here, %s left out: a job's log is capped at %s, its first %s and its last %s are kept]\n",
		ByteSize(c.To-c.From), ByteSize(c.Max), ByteSize(Head(c.Max)), ByteSize(c.Max-Head(c.Max)))
}

// Read reads at most limit bytes of a log of size bytes from off, as every
// log viewer reads a capped log: where the cap left a part out (c) it
// returns Marker in its place (counted against limit; a limit shorter than
// the marker gets its start) and goes on after the cut. With lines, a read
// that stops before the end of what is there ends after its last line
// break when it has one. next is the cursor after what was returned.
func Read(r io.ReaderAt, size int64, c Cut, off int64, limit int, lines bool) (data []byte, next int64, err error) {
	end := size
	if !c.Empty() {
		switch {
		case off < c.From:
			end = c.From
		case off < c.To:
			m := Marker(c)
			data = []byte(m[:min(len(m), limit)])
			off = c.To
		}
	}
	buf := make([]byte, max(0, min(int64(limit-len(data)), end-off)))
	n, err := r.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	buf = buf[:n]
	next = off + int64(n)
	if lines && next < size && next < end {
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i+1]
			next = off + int64(len(buf))
		}
	}
	return append(data, buf...), next, nil
}

// ByteSize formats n bytes for people: 512 B, 1.5 KiB, 64 MiB.
func ByteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// Punch deallocates what next leaves out beyond prev (the bytes prev
// already left out are gone), keeping the file's size. A file system that
// cannot punch holes returns an error and keeps the bytes; readers skip
// them all the same.
func Punch(f *os.File, prev, next Cut) error {
	from := next.From
	if !prev.Empty() {
		from = prev.To
	}
	if next.To <= from {
		return nil
	}
	const keepSize, punchHole = 0x01, 0x02 // FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE
	return syscall.Fallocate(int(f.Fd()), punchHole|keepSize, from, next.To-from)
}
