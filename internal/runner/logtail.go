package runner

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// Bounds of the log tail an alert carries.
const (
	LogTailLinesDefault = 20
	logTailReadMax      = 4 << 20
	logTailTimeout      = 5 * time.Second
)

// logTail reads the last lines of a unit's log for its alert event: from
// the log's end when the executor is a dispatch.LineTailer, else from its
// start (at most logTailReadMax bytes). It is best effort: a log that cannot be read yields no lines, never an error,
// since the state change must not wait on it. It runs in a lane worker,
// off the pass.
func (r *Runner) logTail(ctx context.Context, ex dispatch.Executor, h dispatch.Handle, n int) []string {
	ctx, cancel := context.WithTimeout(ctx, logTailTimeout)
	defer cancel()
	if t, ok := ex.(dispatch.LineTailer); ok {
		// The end of the log, however long it is.
		tail, err := t.TailLines(ctx, h, n)
		if !errors.Is(err, dispatch.ErrNoLogTail) {
			return tail
		}
	}
	var (
		cursor string
		tail   []string
		rest   []byte
		read   int
	)
	for read < logTailReadMax {
		chunk, err := ex.Logs(ctx, h, cursor, 64<<10)
		if err != nil {
			break
		}
		read += len(chunk.Data)
		data := append(rest, chunk.Data...)
		lines := bytes.Split(data, []byte{'\n'})
		rest = append([]byte(nil), lines[len(lines)-1]...)
		for _, l := range lines[:len(lines)-1] {
			tail = appendTail(tail, strings.TrimRight(string(l), "\r"), n)
		}
		if !chunk.More || chunk.Next == cursor || len(chunk.Data) == 0 {
			break
		}
		cursor = chunk.Next
	}
	if len(rest) > 0 {
		tail = appendTail(tail, string(rest), n)
	}
	return tail
}

func appendTail(tail []string, line string, n int) []string {
	tail = append(tail, line)
	if len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	return tail
}
